/** Keyword classes counted into the dense block. Every word is hashed into the sparse space anyway; these
 * counts give the model a dense, spec-stable summary of attack vocabulary. Lookups are by FNV hash of the
 * lowercased word, so matching costs one table probe per word and no regular expression. */
import { fnvString } from "./hash.ts";

export const KW_SQL = 1;
export const KW_SHELL = 2;
export const KW_HTML = 4;
export const KW_PATH = 8;
export const KW_TEMPLATE = 16;
/** Scanners and attack tools: no dense count, but their names are features even in a client's headers. */
export const KW_TOOL = 32;

const SQL = "select union insert update delete drop from where having order group limit offset sleep " +
  "benchmark waitfor delay information_schema table_name column_name concat concat_ws group_concat char chr " +
  "ascii substring substr mid version database exec execute xp_cmdshell sp_executesql declare cast convert " +
  "load_file outfile dumpfile pg_sleep dbms_pipe utl_http utl_inaddr extractvalue updatexml procedure " +
  "analyse sysobjects syscolumns sqlite_master pg_catalog all_tables user_tables dual null nvl iif isnull " +
  "ifnull coalesce randomblob hex unhex make_set elt rlike regexp_like xmltype ctxsys sys_context " +
  "current_user session_user system_user schema tables columns into values truncate alter";
const SHELL =
  "cat ls id whoami uname wget curl nc ncat netcat bash sh zsh ksh ping nslookup dig echo chmod " +
  "chown rm mkdir touch perl python python3 ruby powershell cmd pwsh ifconfig ipconfig systeminfo net " +
  "base64 popen passthru shell_exec proc_open pcntl_exec telnet ssh scp ftp tftp nohup crontab sudo su " +
  "killall ps netstat hostname env printenv awk sed xargs tee head tail more less type dir certutil " +
  "bitsadmin wmic reg rundll32 regsvr32 mshta cscript wscript";
const HTML = "script alert prompt confirm onerror onload onmouseover onfocus onclick onblur onmouseenter " +
  "onanimationstart ontoggle onpageshow onbegin onstart img svg iframe frame frameset javascript vbscript " +
  "livescript document cookie window location eval fromcharcode innerhtml outerhtml srcdoc atob btoa " +
  "expression embed object applet meta xmlns xlink formaction onhashchange oninput onchange onsubmit " +
  "settimeout setinterval constructor prototype __proto__ xss import iframe marquee details math " +
  "base href src data style body";
const PATH = "etc passwd shadow group hosts issue win ini boot system32 windows winnt proc self environ " +
  "cmdline fd htaccess htpasswd git svn hg env bak old backup swp orig save tmp var log logs www inetpub " +
  "wwwroot web config xml phpinfo wp admin dump sql tar gz zip rar ds_store idea vscode id_rsa " +
  "authorized_keys known_hosts bash_history mysql_history php_errorlog access_log error_log";
const TEMPLATE = "__class__ __mro__ __subclasses__ __globals__ __builtins__ __import__ __init__ __base__ " +
  "lipsum cycler joiner namespace config self request getruntime freemarker velocity thymeleaf " +
  "processbuilder classloader forname newinstance";

const TOOL = "sqlmap nikto nmap masscan zgrab nuclei acunetix nessus openvas wpscan dirbuster gobuster " +
  "dirb jorgee zmeu morfeus havij w3af netsparker appscan burp burpcollaborator interactsh oastify wfuzz " +
  "ffuf commix xsstrike skipfish arachni vega zap hydra medusa nessus_is_probing_you l9explore";

// Open addressing over Int32Arrays: the hashes are int32, and a Map would box most of them.
const SLOTS = 2048;
const keys = new Int32Array(SLOTS);
const classes = new Int32Array(SLOTS);

function insert(h: number, bit: number): void {
  let i = h & (SLOTS - 1);
  while (classes[i] !== 0 && keys[i] !== h) i = (i + 1) & (SLOTS - 1);
  keys[i] = h;
  classes[i] |= bit;
}

for (
  const [words, bit] of [[SQL, KW_SQL], [SHELL, KW_SHELL], [HTML, KW_HTML], [PATH, KW_PATH], [
    TEMPLATE,
    KW_TEMPLATE,
  ], [TOOL, KW_TOOL]] as const
) {
  for (const w of words.split(" ")) if (w) insert(fnvString(w), bit);
}

/**
 * Keyword classes of a word.
 *
 * @param h FNV-1a hash of the lower-cased word (`fnvString`).
 * @returns A bit set of `KW_*`, 0 for none.
 */
export function lexiconClasses(h: number): number {
  let i = h & (SLOTS - 1);
  while (classes[i] !== 0) {
    if (keys[i] === h) return classes[i];
    i = (i + 1) & (SLOTS - 1);
  }
  return 0;
}
