/**
 * The real tenants: access logs of real public sites (`sites/<id>.jsonl.gz`), one site a tenant. Their
 * label 0 means "ordinary traffic as logged", scanners and attacks included, so everything that treats a
 * site's records as benign goes through {@link ordinaryReason}: the documented filter. Sites are split into
 * folds by a hash of their id, so that validation always leaves whole sites out.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { RequestRecord } from "@taugate/record/record.ts";
import { hashString } from "../util/rng.ts";
import { decodeOnce, familyByKeywords } from "./families.ts";

/** One logged request of a site, as the data holds it (`status` is what the site answered). */
export interface SiteRecord extends RequestRecord {
  status: number;
}

/** A real site: its id and every record of its file, in file order. */
export interface Site {
  id: string;
  records: SiteRecord[];
}

/**
 * Paths that only scanners and brute-force bots ask for on sites that do not run them: the probe list of
 * the data's own `share_probe` column, plus backup, dump and shell names. Matched as substrings of the
 * lower-cased, once-decoded path.
 */
const PROBE_PATHS: readonly string[] = [
  "wp-login.php",
  "xmlrpc.php",
  "/.env",
  "/.git",
  "/.svn",
  "/.hg/",
  "/.aws",
  "/.ssh",
  "/.ds_store",
  "/.idea",
  "/.vscode",
  "/.config/",
  "/.aws/",
  "/.docker",
  "phpmyadmin",
  "/pma/",
  "/myadmin",
  "/mysqladmin",
  "/phpinfo",
  "/cgi-bin/",
  "/shell.php",
  "/cmd.php",
  "/wso",
  "/c99",
  "/r57",
  "eval-stdin.php",
  "/vendor/phpunit",
  "/boaform",
  "/hnap1",
  "/solr/",
  "/actuator",
  "/manager/html",
  "/owa/",
  "/autodiscover",
  "/setup.php",
  "/install.php",
  "/config.php",
  "/wp-config",
  ".sql",
  ".bak",
  ".old",
  ".swp",
  "/etc/passwd",
  "win.ini",
  "../",
  "..\\",
  "/admin.php",
  "/administrator",
  "/user/register",
  "/.well-known/security.txt",
  "/remote/login",
  "/global-protect",
  "/+cscoe+",
  "/cgi/",
  "/ecp/",
  "/druid/",
  "/jenkins",
  "/telescope",
  "/_ignition",
  "/server-status",
  "/containers/json",
  "aws/config",
  "aws/credentials",
  "/axis2/",
  // Wallet and cloud-metadata thieves (`/backup/wallet.dat`, an SSRF probe's `…/latest/meta-data/public-ipv4`),
  // files a malware scanner renamed (`about.php.suspected`) and the ALFA and UEditor web-shell uploaders.
  "wallet.dat",
  "latest/meta-data",
  ".suspected",
  "/alfa.php",
  "/alfanew",
  "/alfa_data",
  "/alfacgiapi",
  "alfa-rex",
  "/ueditor/",
];

/** Top-level domains of the host names that scanners write into a path (`//example.com/…`, `/example.com.zip`). */
const HOST_TLDS = "com|net|org|info|biz|io|co|me|xyz|ru|de|uk|fr|it|nl|es|pl|jp|cn|in|br|kz|tm|edu|gov";

/**
 * A host name as a path's first segment: `//example.com/wp-content/…` and `/mail.example.com/…` (a scanner
 * that builds its targets from the site's name, which no page links), or an archive named after the host
 * (`/example.com.zip`, a backup probe). A segment ending in a file extension (`/index.php`) is not a host.
 */
const HOST_IN_PATH = new RegExp(
  `^/{1,2}(?:[a-z0-9-]+\\.)+(?:${HOST_TLDS})(?:/|\\.(?:zip|tar|tgz|gz|rar|7z)$)`,
);

/**
 * Whole paths that WordPress-installation and backup scanners ask for (`HEAD /backup`, `GET /bk`) and no site
 * of the data serves as a page; the other names of those scanners' lists (`/blog`, `/home`, `/test`, `/wp`) are
 * some sites' real pages and stay.
 */
const PROBE_WHOLE_PATHS: ReadonlySet<string> = new Set(["/backup", "/backups", "/bak", "/bk", "/bc", "/old"]);

/** User agents of scanners and attack tools (lower-case substrings). */
const TOOL_AGENTS: readonly string[] = [
  "sqlmap",
  "nikto",
  "nmap",
  "masscan",
  "zgrab",
  "nuclei",
  "acunetix",
  "nessus",
  "openvas",
  "wpscan",
  "dirbuster",
  "gobuster",
  "jorgee",
  "morfeus",
  "zmeu",
  "havij",
  "l9explore",
  "censys",
  "expanse",
  "internet-measurement",
  "httpx",
  "libwww-perl",
  "() {",
];

/**
 * Exploit markers in a target that the keyword rules do not name: Drupalgeddon, PHP object injection, Log4Shell;
 * PHP code injection (ThinkPHP's `invokefunction` remote code execution, a web shell's `eval($_POST[…])`, a
 * `<?php` tag written into a file); system files a web shell or a traversal reads besides `/etc/passwd`; PHP
 * stream wrappers (`php://filter`, the source-disclosure exploits of WordPress plugins); SQL functions of time-
 * and error-based injection (sqlmap's and commercial scanners' Oracle, PostgreSQL, MySQL and MSSQL probes), and
 * a scanner's quote probe (`'A=0` appended to a value); an XSS probe that writes its own element, a PHP
 * code-injection probe's `print(int)` arithmetic and Drupalgeddon 2's `/file/ajax/` path.
 */
const TARGET_MARKERS: readonly string[] = [
  "#post_render",
  "#markup",
  "__test|o:",
  "${jndi",
  "invokefunction",
  "call_user_func",
  "<?php",
  "eval($_",
  "$_post[",
  "$_get[",
  "$_request[",
  "'a=0",
  "allow_url_include",
  "/etc/group",
  "/etc/fstab",
  "/etc/shadow",
  "/etc/hosts",
  "php://",
  "dbms_pipe",
  "pg_sleep",
  "benchmark(",
  "extractvalue(",
  "updatexml(",
  "xp_cmdshell",
  "information_schema",
  // An XSS probe that writes its own element (`";l=document.createElement("link")…`), a PHP code-injection
  // probe's arithmetic (`+print(int)0xFFF9999-94261;//`), Drupalgeddon 2's AJAX form path.
  "document.createelement",
  "print(int)",
  "/file/ajax/",
  // Out-of-band and test hosts of commercial scanners' payloads (Acunetix, Burp Collaborator, interactsh).
  "r87.com",
  "bxss.me",
  "vulnweb.com",
  "oastify.com",
  "burpcollaborator",
  "interact.sh",
];

/**
 * A scanner's boolean SQL injection: `or` and arithmetic that a comparison closes (`-1 OR 2+583-583-1=0+0+0+1 --`),
 * within one parameter. Bounded: no nested quantifier, at most 16 characters between the arithmetic and `=`.
 */
const ARITHMETIC_TAUTOLOGY = /\sor\s+\d+[-+*]\d+[^&=]{0,16}=/;

/** A quoted tautology (`" and "x"="y`, `' or 'a'='a`): a quote, `and`/`or`, a short quoted word, `=`, a quote. */
const QUOTED_TAUTOLOGY = /["']\s*(?:and|or)\s+["'][^"'&]{0,16}["']\s*=\s*["']/;

/** Three or more percent-encoded unreserved characters in a row (`%68%74%74%70`): no browser or link encodes them. */
const ENCODED_UNRESERVED = /(?:%(?:3[0-9]|4[1-9a-f]|5[0-9a]|6[1-9a-f]|7[0-9a]|2d|2e|5f|7e)){3}/;

/**
 * A parameter value (decoded once) written the way open-redirect scanners write another host, which no page
 * links: scheme-relative (`//host`), a slash before a tab or a backslash (`/%09/host`, `/\host`), three slashes,
 * `@host`, a scheme without its slashes (`http:host`), or a host whose dots are encoded twice (`host%252ecom`).
 */
function redirectEvasion(url: string): boolean {
  const q = url.indexOf("?");
  if (q < 0) return false;
  for (const kv of url.slice(q + 1).split("&")) {
    const v = decodeOnce(kv.slice(kv.indexOf("=") + 1));
    if (/^(?:\/\/[a-z0-9]|\/[\t\\]|\/\/\/|\\\\|@|https?:(?!\/\/)[a-z0-9])/.test(v)) return true;
    if (/^\/\.[a-z0-9-]+\.[a-z]{2,}/.test(v)) return true;
    if (/^(?:[a-z0-9-]+%2e)+[a-z]{2,}/.test(v)) return true;
  }
  return false;
}

/** Injection markers in a user agent or referer (both hold URLs and punctuation, so only unambiguous ones). */
const HEADER_MARKERS: readonly string[] = [
  "<script",
  "javascript:",
  "onerror=",
  "union select",
  "union all select",
  "sleep(",
  "waitfor delay",
  "() {",
  "${jndi",
  "__test|o:",
  "jdatabasedrivermysqli",
  "/etc/passwd",
  "' or ",
  '" or ',
];

/**
 * Why a site record is not taken as ordinary benign traffic, or `null` when it is. The filter: the site
 * answered 2xx or 3xx; the method is one a site serves (GET, HEAD, POST, OPTIONS); the path is not a
 * known scanner probe (the list above, backup archives, secrets files, a host name as its first segment); the
 * target, user agent and referer carry no attack keyword (the same rules that clean the `fwaf` benign source,
 * and the exploit markers above; the referer's link is judged by the target's rules, reason `referer`); the
 * target hides nothing by encoding (a NUL byte, encoded letters, an open-redirect scanner's spelling of a host:
 * reason `evasion`); the user agent is not a scanner or attack tool.
 *
 * @param r The record.
 */
export function ordinaryReason(r: SiteRecord): string | null {
  if (!(r.status >= 200 && r.status < 400)) return "status";
  if (!["GET", "HEAD", "POST", "OPTIONS"].includes(r.method)) return "method";
  const url = r.url.toLowerCase();
  const path = decodeOnce(url.split("?")[0]);
  for (const p of PROBE_PATHS) if (path.includes(p)) return "probe";
  if (path.endsWith("~")) return "probe";
  let end = path.length;
  while (end > 1 && path[end - 1] === "/") end--;
  if (PROBE_WHOLE_PATHS.has(path.slice(0, end))) return "probe";
  if (/\/backup[^/]*\.(?:zip|tar|tgz|gz|rar|7z)$/.test(path)) return "probe";
  // A secrets file (`/.env`, `/sendgrid.env`, `/api/shared/config/config.env`), and a host name as a path.
  if (path.endsWith(".env") || HOST_IN_PATH.test(path)) return "probe";
  // A URL in a parameter (the `rfi` and `redirect` rules) is everyday traffic: trackers, beacons, logins.
  const target = decodeOnce(decodeOnce(r.url));
  const family = familyByKeywords(target);
  if (family && family !== "rfi" && family !== "redirect") return "keyword";
  const t = target.toLowerCase();
  for (const m of TARGET_MARKERS) if (t.includes(m)) return "keyword";
  if (ARITHMETIC_TAUTOLOGY.test(t) || QUOTED_TAUTOLOGY.test(t)) return "keyword";
  // Encodings that hide a payload from a filter: a NUL byte, encoded letters, redirect-scanner spellings of a host.
  const encoded = url.includes("%00") || url.includes("%252e") || url.includes("/%09");
  if (encoded || ENCODED_UNRESERVED.test(url) || redirectEvasion(url)) return "evasion";
  const ua = (r.headers?.["user-agent"] ?? "").toLowerCase();
  for (const t of TOOL_AGENTS) if (ua.includes(t)) return "tool";
  for (const h of [ua, (r.headers?.["referer"] ?? "").toLowerCase()]) {
    for (const m of HEADER_MARKERS) if (h.includes(m)) return "keyword";
  }
  // The extractor reads a referer's link as a query (its values as query values), so the filter judges it by
  // the target's rules: a referer that carries an injection (a page's own link with `' OR '1'='1` in it, a
  // phpMyAdmin page's SQL) is not ordinary traffic. A reason of its own, so that it can be counted apart.
  const referer = r.headers?.["referer"] ?? "";
  const rf = referer === "" ? null : familyByKeywords(decodeOnce(decodeOnce(referer)));
  if (rf && rf !== "rfi" && rf !== "redirect") return "referer";
  return null;
}

/** The ids of the sites in a data folder (`sites/*.jsonl.gz`), sorted; empty when there is none. */
export function siteIds(dataDir: string): string[] {
  const dir = join(dataDir, "sites");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(".jsonl.gz")).map((f) => f.slice(0, -9)).sort();
}

/** Reads one site's file. Lines that do not parse are skipped (the files are the data's, not ours). */
export function loadSite(dataDir: string, id: string): Site {
  const text = gunzipSync(readFileSync(join(dataDir, "sites", `${id}.jsonl.gz`))).toString("utf8");
  const records: SiteRecord[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const o = JSON.parse(line);
      if (typeof o.method !== "string" || typeof o.url !== "string") continue;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(o.headers ?? {})) {
        // The placeholder host of sites whose log has none is not part of the request's evidence.
        if (typeof v === "string") headers[k.toLowerCase()] = v;
      }
      records.push({
        method: o.method,
        url: o.url,
        headers,
        body: "",
        label: 0,
        family: "benign",
        tenant: id,
        status: Number(o.status) || 0,
      });
    } catch {
      // skipped
    }
  }
  return { id, records };
}

/** Every site of a data folder. */
export function loadSites(dataDir: string): Site[] {
  return siteIds(dataDir).map((id) => loadSite(dataDir, id));
}

/**
 * The folds of sites: the ids ordered by a hash of each id, then dealt round-robin, so folds differ in size
 * by at most one and a site's fold depends only on the ids present.
 *
 * @returns fold index (0 … k−1) by site id.
 */
export function foldsOf(ids: string[], k: number, seed = 0x5175): Map<string, number> {
  const order = [...ids].sort((a, b) => hashString(a, seed) - hashString(b, seed) || (a < b ? -1 : 1));
  return new Map(order.map((id, i) => [id, i % k]));
}

/**
 * A site's ordinary records (the filter applied), in file order; with `dedupe`, only the first of each
 * method, target and user agent (for training; evaluation keeps every request, as the site saw them).
 */
export function ordinaryRecords(
  site: Site,
  dedupe = false,
): { kept: SiteRecord[]; dropped: Record<string, number> } {
  const kept: SiteRecord[] = [];
  const dropped: Record<string, number> = {};
  const seen = new Set<string>();
  for (const r of site.records) {
    const why = ordinaryReason(r);
    if (why) {
      dropped[why] = (dropped[why] ?? 0) + 1;
      continue;
    }
    const key = `${r.method} ${r.url} ${r.headers?.["user-agent"] ?? ""}`;
    if (dedupe && seen.has(key)) {
      dropped["duplicate"] = (dropped["duplicate"] ?? 0) + 1;
      continue;
    }
    seen.add(key);
    kept.push(r);
  }
  return { kept, dropped };
}
