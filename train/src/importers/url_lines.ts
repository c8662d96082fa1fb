/**
 * Importer of URL-per-line lists (`fwaf/*.txt`, `urldetect/*.txt`): each line is a logged request target
 * (path and query) and becomes a canonical `GET` record.
 *
 * - `urldetect` lines may hold a TAB, or spaces, between the path and the query instead of `?`.
 * - A `#` in a logged target was sent literally, so it is encoded as `%23` (URL parsing would cut it off as a
 *   fragment); control characters (a raw TAB) are percent-encoded too, since URL parsing deletes them.
 * - A target without a leading `/` gets one (warned); a target starting with `//` or `/\` would parse as a
 *   host, so it is written as an absolute URL on `localhost`, which keeps the path as sent.
 * - A line that still does not parse as a URL is skipped and reported with its line number.
 *
 * @module
 */
import type { RequestRecord } from "@taugate/record/record.ts";
import { splitLines } from "./lines.ts";
import { type ImportReport, issue, newReport } from "./report.ts";

/** Options of one URL list. */
export interface UrlListOptions {
  /** Name of the input for the report. */
  source: string;
  /** Label of every record. */
  label: 0 | 1;
  /** Family of every record (`benign`, or an attack family, or `scanner` when unknown). */
  family: string;
  /** Tenant of every record, if the list is one site. */
  tenant?: string;
  /** The list may separate path and query by a TAB or by whitespace (`urldetect`). */
  whitespaceQuery?: boolean;
}

/** A record of a URL list with where it came from. */
export interface UrlEntry {
  record: RequestRecord;
  /** 1-based line number in the input. */
  line: number;
  /** The line as read. */
  raw: string;
  /** The line did not start with `/` or a scheme: it is a bare payload logged as a target. */
  bare: boolean;
}

const PARSE_BASE = "http://taugate.invalid";

/**
 * Imports a URL list.
 *
 * @param input The file's bytes (or text).
 * @param options Label, family and format of the list.
 * @returns The records, in line order, and the report.
 */
export function importUrlList(
  input: Uint8Array | string,
  options: UrlListOptions,
): { entries: UrlEntry[]; report: ImportReport } {
  const report = newReport(options.source);
  const { lines, unterminated } = splitLines(input);
  report.unterminatedLastLine = unterminated;
  const entries: UrlEntry[] = [];
  for (const { n, text, latin1 } of lines) {
    report.lines++;
    if (text.trim() === "") {
      report.blank++;
      continue;
    }
    if (latin1) {
      report.warnings.push(issue(n, "invalid UTF-8, read as Latin-1", text));
    }
    const target = canonicalTarget(
      options.whitespaceQuery ? joinQuery(text) : text,
    );
    if (target.url === null) {
      report.skipped.push(issue(n, "not a parseable URL", text));
      continue;
    }
    if (target.bare) {
      report.warnings.push(issue(n, "no leading '/', one was added", text));
    }
    const record: RequestRecord = {
      method: "GET",
      url: target.url,
      label: options.label,
      family: options.family,
    };
    if (options.tenant) record.tenant = options.tenant;
    entries.push({ record, line: n, raw: text, bare: target.bare });
    report.items++;
  }
  return { entries, report };
}

/**
 * `path<TAB>query` or `path   query` → `path?query`. Whitespace separates only when the line has no `?`, the
 * part before it has no space and the part after it holds a `=` (so a path with spaces stays a path).
 */
export function joinQuery(line: string): string {
  const tab = line.indexOf("\t");
  if (tab >= 0) {
    const query = line.slice(tab + 1).replace(/^[\t ]+/, "");
    return query === "" ? line.slice(0, tab) : `${line.slice(0, tab)}?${query}`;
  }
  if (line.includes("?")) return line;
  const space = line.indexOf(" ");
  if (space <= 0) return line;
  let end = space;
  while (end < line.length && line[end] === " ") end++;
  const query = line.slice(end);
  return query.includes("=") ? `${line.slice(0, space)}?${query}` : line;
}

/**
 * A logged request target as a record URL that parses to the same path and query a server would see.
 *
 * @returns `url: null` when even the repaired target does not parse; `bare` when a `/` was added.
 */
export function canonicalTarget(
  line: string,
): { url: string | null; bare: boolean } {
  let t = encodeLiterals(line);
  let bare = false;
  if (/^https?:\/\//i.test(t)) {
    return { url: parses(t) ? t : null, bare: false };
  }
  if (!t.startsWith("/")) t = "/" + t, bare = true;
  // `//x` and `/\x` are scheme-relative to a URL parser; as the path of an absolute URL they stay a path.
  if (t.startsWith("//") || t.startsWith("/\\")) t = "http://localhost" + t;
  return { url: parses(t) ? t : null, bare };
}

/** `#` → `%23` and control characters → `%XX`: both were part of the logged target as sent. */
function encodeLiterals(s: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 35 || c < 32 || c === 127) {
      out += s.slice(from, i) + "%" +
        c.toString(16).toUpperCase().padStart(2, "0");
      from = i + 1;
    }
  }
  return from === 0 ? s : out + s.slice(from);
}

function parses(url: string): boolean {
  try {
    new URL(url, PARSE_BASE);
    return true;
  } catch {
    return false;
  }
}
