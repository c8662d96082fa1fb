/**
 * Attack families: which exist, which are held out of meta-training, how they are grouped in reports, and
 * the simple keyword rules that give a family to attack lines that come without one (`fwaf/badqueries.txt`,
 * fuzzdb's `all-attacks`) and that find attack strings in the noisy benign source.
 *
 * @module
 */

/** Injection families (payloads from the data, injected into a tenant's own requests). */
export const INJECTION_FAMILIES = [
  "sqli",
  "xss",
  "cmdi",
  "traversal",
  "lfi",
  "rfi",
  "xxe",
  "ssi",
  "crlf",
  "redirect",
  "xpath",
  "ssti",
  "ldap",
  "nosqli",
] as const;

/**
 * Families kept out of meta-training entirely (no payload of theirs is ever trained on; keyword rules also
 * remove lines of the unlabelled sources that look like them), evaluated as unseen families.
 */
export const HELD_OUT_FAMILIES: readonly string[] = ["ssti", "ldap", "nosqli"];

/** Anomaly families, synthesised per tenant from its own benign requests. */
export const ANOMALY_FAMILIES = [
  "tamper-type",
  "tamper-length",
  "tamper-charset",
  "tamper-range",
  "tamper-param",
  "tamper-method",
  "probe",
  "token-misplaced",
  "bad-encoding",
] as const;

/** Whole-target scanner traffic (`fwaf/badqueries.txt` lines that no keyword rule names): path probes. */
export const SCANNER_FAMILY = "scanner";

/** The report category of a family: `injection`, `anomaly` (site-relative, scanner probes included), `benign`. */
export function categoryOf(
  family: string | undefined,
): "benign" | "injection" | "anomaly" {
  if (!family || family === "benign") return "benign";
  if (
    (ANOMALY_FAMILIES as readonly string[]).includes(family) ||
    family === SCANNER_FAMILY
  ) return "anomaly";
  return "injection";
}

/** One keyword rule: a family, the lower-case substrings any one of which names it, and optional patterns. */
export interface KeywordRule {
  family: string;
  any: string[];
  re?: RegExp[];
}

/**
 * Keyword rules, first match wins; held-out families come first so that their look-alikes leave training.
 * Matched against the lower-cased line and its percent-decoded form.
 */
export const KEYWORD_RULES: readonly KeywordRule[] = [
  // `${` only before a name: the shell's `${#str}` and `${IFS}` of command injections are not templates.
  {
    family: "ssti",
    any: ["{{", "<%=", "#{", "{%", "{php}"],
    re: [/\$\{[a-z_@]/],
  },
  { family: "ldap", any: ["*)(", ")(|", "(|(", "(&(", ")(&", "*))%00"] },
  {
    family: "nosqli",
    any: [
      "$where",
      "$ne",
      "$gt",
      "$regex",
      "[$",
      "this.password",
      "db.injection",
    ],
  },
  { family: "xxe", any: ["<!doctype", "<!entity", "<?xml", "<![cdata["] },
  { family: "ssi", any: ["<!--#"] },
  {
    family: "xss",
    any: [
      "<script",
      "</script",
      "javascript:",
      "vbscript:",
      "onerror=",
      "onload=",
      "onmouseover=",
      "onfocus=",
      "alert(",
      "prompt(",
      "confirm(",
      "<img",
      "<svg",
      "<iframe",
      "<body",
      "<a ",
      "<input",
      "<style",
      "document.cookie",
      "expression(",
      "fromcharcode",
    ],
  },
  {
    family: "sqli",
    any: [
      "union select",
      "union all select",
      "union/**/select",
      "union+select",
      "select ",
      "' or ",
      '" or ',
      " or 1=1",
      "'or'",
      "' and ",
      " and 1=",
      "sleep(",
      "benchmark(",
      "waitfor delay",
      "order by",
      "group by",
      "@@version",
      "information_schema",
      "char(",
      "concat(",
      "cast(",
      "xp_cmdshell",
      "'--",
      "';",
      "1'",
      "' --",
    ],
  },
  {
    family: "rfi",
    any: [
      "=http://",
      "=https://",
      "=ftp://",
      "xxpathxx",
      "rfiinc",
      "@rfiurl",
      "=php://",
      "=data:",
    ],
  },
  {
    family: "traversal",
    any: [
      "../",
      "..\\",
      "%2e%2e",
      "..%2f",
      "..%5c",
      "%c0%af",
      "%c1%9c",
      "%252e",
      "etc/passwd",
      "etc/shadow",
      "win.ini",
      "boot.ini",
      "system32",
      "%uff0e",
    ],
  },
  {
    family: "cmdi",
    any: [
      ";id",
      "|id",
      "`",
      "$(",
      "&&",
      "||",
      "uname",
      "/bin/",
      "cmd.exe",
      "wget ",
      "curl ",
      ";ping",
      "|ping",
      "&ping",
      "ping -",
      "echo ",
      "nslookup",
      "/c dir",
      ";ls",
      "|ls",
      "rm q",
      "del q",
      "\\x0a",
      "\\x0d",
      "\\x09",
      "passthru",
      "system(",
      "exec(",
      "shell_exec",
      "phpinfo",
    ],
  },
  { family: "crlf", any: ["%0d%0a", "%0a", "%0d", "\r\n", "\\r\\n"] },
];

/** Scanner markers that no benign request carries (found in the benign `fwaf` source). */
export const SCANNER_MARKERS: readonly string[] = [
  "nessus",
  "acunetix",
  "cirt.net",
  "nikto",
  "sqlmap",
  "nonexistant",
  "sfish",
  "xxxxxxxx",
  "%00",
  "|",
  "<",
  ">",
  "'",
  '"',
  "/**/",
  ".svn/",
  ".git/",
  "web.config",
  ".htaccess",
  ".htpasswd",
];

/** Percent-decodes once, leaving invalid escapes as they are. */
export function decodeOnce(s: string): string {
  return s.replace(
    /%([0-9a-fA-F]{2})/g,
    (_, h) => String.fromCharCode(parseInt(h, 16)),
  );
}

/**
 * The family a keyword rule gives a line, or `null` when none matches.
 *
 * @param line The attack line (URL, or payload).
 * @param rules The rules, first match wins.
 */
export function familyByKeywords(
  line: string,
  rules: readonly KeywordRule[] = KEYWORD_RULES,
): string | null {
  const a = line.toLowerCase();
  const b = decodeOnce(a).toLowerCase().replace(/\+/g, " ");
  for (const rule of rules) {
    for (const k of rule.any) {
      if (a.includes(k) || b.includes(k)) return rule.family;
    }
    for (const re of rule.re ?? []) {
      if (re.test(a) || re.test(b)) return rule.family;
    }
  }
  return null;
}

/**
 * Why a line of a benign source looks like an attack (the documented cleaning rules), or `null`. Rules: any
 * keyword rule above, a scanner marker, or a scanner's random marker token (`q` and 7+ digits).
 */
export function attackLikeReason(line: string): string | null {
  const family = familyByKeywords(line);
  if (family) return `keyword:${family}`;
  const a = line.toLowerCase();
  for (const m of SCANNER_MARKERS) if (a.includes(m)) return `marker:${m}`;
  if (/(^|[^a-z0-9])q\d{7,}/.test(a)) return "marker:q-token";
  return null;
}
