/**
 * Importer of attack payload lists (PayloadsAllTheThings, fuzzdb): one payload a line, and the folder names
 * the family. Lines starting with `# ` (a hash and a space or TAB) are the lists' comments; a payload such as
 * `#{7*7}` is kept. Lines that are not valid UTF-8 are read as Latin-1 and warned about.
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { splitLines } from "./lines.ts";
import type { Payload } from "./params_csv.ts";
import { type ImportReport, issue, newReport } from "./report.ts";

/** PayloadsAllTheThings top folders → families. */
export const PATT_FAMILIES: Readonly<Record<string, string>> = {
  CRLF_Injection: "crlf",
  Command_Injection: "cmdi",
  Directory_Traversal: "traversal",
  File_Inclusion: "lfi",
  LDAP_Injection: "ldap",
  NoSQL_Injection: "nosqli",
  Open_Redirect: "redirect",
  SQL_Injection: "sqli",
  Server_Side_Include_Injection: "ssi",
  Server_Side_Template_Injection: "ssti",
  XSS_Injection: "xss",
  XXE_Injection: "xxe",
};

/** fuzzdb `attack/` folders → families. */
export const FUZZDB_FAMILIES: Readonly<Record<string, string>> = {
  "all-attacks": "mixed",
  "disclosure-directory": "disclosure",
  "disclosure-source": "disclosure",
  html_js_fuzz: "xss",
  "http-protocol": "http-protocol",
  json: "json",
  ldap: "ldap",
  lfi: "lfi",
  "no-sql-injection": "nosqli",
  "os-cmd-execution": "cmdi",
  "path-traversal": "traversal",
  redirect: "redirect",
  rfi: "rfi",
  "server-side-include": "ssi",
  "sql-injection": "sqli",
  xml: "xxe",
  xpath: "xpath",
  xss: "xss",
};

/**
 * Imports one payload list.
 *
 * @param input The file's bytes (or text).
 * @param source Name of the input for the report.
 * @param family The family of every payload in it.
 */
export function importPayloadList(
  input: Uint8Array | string,
  source: string,
  family: string,
): { payloads: Payload[]; report: ImportReport } {
  const report = newReport(source);
  const { lines, unterminated } = splitLines(input);
  report.unterminatedLastLine = unterminated;
  const payloads: Payload[] = [];
  for (const { n, text, latin1 } of lines) {
    report.lines++;
    if (text.trim() === "") {
      report.blank++;
      continue;
    }
    if (/^#[ \t]/.test(text)) {
      report.comments++;
      continue;
    }
    if (text.includes("\0")) {
      report.skipped.push(issue(n, "NUL byte in a text list", text));
      continue;
    }
    if (latin1) {
      report.warnings.push(issue(n, "invalid UTF-8, read as Latin-1", text));
    }
    payloads.push({ payload: text, family, label: 1, source, line: n });
    report.items++;
  }
  return { payloads, report };
}

/**
 * Imports every list under `root`, in sorted path order; the first folder below `root` names the family.
 *
 * @param root The folder (e.g. `payloads/fuzzdb/attack`).
 * @param families Folder → family; a folder not in it keeps its own (lower-cased) name, with a warning.
 * @param sourceBase Paths in reports are relative to this folder.
 */
export function importPayloadDir(
  root: string,
  families: Readonly<Record<string, string>>,
  sourceBase: string,
): { payloads: Payload[]; reports: ImportReport[] } {
  const payloads: Payload[] = [];
  const reports: ImportReport[] = [];
  for (const file of listFiles(root)) {
    const folder = relative(root, file).split(sep)[0];
    const source = relative(sourceBase, file).split(sep).join("/");
    const family = families[folder] ?? folder.toLowerCase();
    const out = importPayloadList(readFileSync(file), source, family);
    if (!(folder in families)) {
      out.report.warnings.push(
        issue(
          0,
          `folder "${folder}" has no family mapping; family "${family}"`,
          "",
        ),
      );
    }
    payloads.push(...out.payloads);
    reports.push(out.report);
  }
  return { payloads, reports };
}

/** Files below `dir`, recursively, in sorted order (so imports are deterministic). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}
