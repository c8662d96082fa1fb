/**
 * Canonical records as JSONL (one object a line) or as one JSON array, detected by the first character.
 *
 * @module
 */
import type { RequestRecord } from "../record/record.ts";
import { MAX_RECORD_BYTES, utf8Length } from "../record/schema.ts";
import { afterBom, Collector, errorMessage, forEachLine, isBlank, isHttpWhitespace } from "./_util.ts";
import type { ImportOptions, ImportReport } from "./types.ts";

/**
 * Imports canonical records from JSONL or from a JSON array. Each line (or array element) is parsed and
 * validated on its own, so one bad line costs only itself; a truncated array still yields its complete
 * elements.
 *
 * @param text JSONL, or a JSON array of records.
 * @param options Defaults for `label`, `family`, `tenant` (applied where a record has none) and limits.
 * @returns The records and the skipped lines (for an array, the line where each bad element begins).
 * @throws {TypeError} When an option is out of range.
 * @example
 * ```ts
 * const { records, skipped } = importJsonl('{"method":"GET","url":"/"}\nnot json\n');
 * // records: [{ method: "GET", url: "/" }]; skipped: [{ line: 2, reason: "invalid JSON: ..." }]
 * ```
 */
export function importJsonl(text: string, options: ImportOptions = {}): ImportReport {
  const out = new Collector(options);
  if (out.refuseOversize(text)) return out.report();
  let i = afterBom(text);
  while (i < text.length && isHttpWhitespace(text.charCodeAt(i))) i++;
  if (text[i] === "[") importArray(text, i, out);
  else {
    forEachLine(text, (line, n) => {
      if (!isBlank(line)) addJson(out, n, line);
      return !out.done;
    });
  }
  return out.report();
}

/**
 * Serialises records as JSONL: one JSON object a line, each line ending in `\n`.
 *
 * @param records Records (typically from an importer).
 * @returns The JSONL text; empty for no records.
 * @example
 * ```ts
 * formatJsonl([{ method: "GET", url: "/" }]); // '{"method":"GET","url":"/"}\n'
 * ```
 */
export function formatJsonl(records: readonly RequestRecord[]): string {
  let s = "";
  for (const r of records) s += JSON.stringify(r) + "\n";
  return s;
}

/** Parses and validates one record's JSON; returns whether it became a record. */
function addJson(out: Collector, line: number, json: string): boolean {
  const bytes = utf8Length(json);
  if (bytes > MAX_RECORD_BYTES) {
    out.skip(line, `${bytes} bytes, over the ${MAX_RECORD_BYTES}-byte record limit`);
    return false;
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (e) {
    out.skip(line, `invalid JSON: ${errorMessage(e)}`);
    return false;
  }
  return out.add(line, value);
}

/**
 * Splits a JSON array at its top-level commas (a linear scan that tracks strings and nesting) and parses
 * each element alone.
 */
function importArray(text: string, open: number, out: Collector): void {
  let line = 1;
  for (let k = 0; k < open; k++) if (text.charCodeAt(k) === 10) line++;
  let depth = 0, inString = false, escaped = false;
  let start = open + 1, startLine = line;
  let closed = false, commas = 0;
  const flush = (end: number): boolean => {
    const element = text.slice(start, end);
    if (isBlank(element)) {
      out.skip(startLine, "empty array element");
      return false;
    }
    return addJson(out, startLine, element);
  };
  let i = open + 1;
  for (; i < text.length && !out.done; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 92) escaped = true;
      else if (c === 34) inString = false;
      continue;
    }
    if (start === i && isHttpWhitespace(c)) {
      // Elements begin at their first non-blank character, so their line is the one a reader sees.
      start = i + 1, startLine = c === 10 ? line : startLine;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) depth++;
    else if ((c === 125 || c === 93) && depth > 0) depth--;
    else if (depth === 0 && c === 44) {
      flush(i);
      commas++;
      start = i + 1, startLine = line;
    } else if (depth === 0 && c === 93) {
      closed = true;
      break;
    }
  }
  if (out.done) return;
  if (closed) {
    // "[]" holds no element, but "[1,]" has an empty one.
    if (commas > 0 || !isBlank(text.slice(start, i))) flush(i);
    const rest = afterWhitespace(text, i + 1);
    if (rest < text.length) out.skip(lineAt(text, rest, i + 1, line), "text after the closing ]");
    return;
  }
  // A cut inside an element is reported by that element; a cut between elements gets its own entry.
  const pendingOk = isBlank(text.slice(start)) || flush(text.length);
  if (pendingOk) out.skip(line, "input ends before the closing ] of the array");
}

function afterWhitespace(text: string, i: number): number {
  while (i < text.length && isHttpWhitespace(text.charCodeAt(i))) i++;
  return i;
}

/** Line number of `target`, counting from `from` whose line is `line`. */
function lineAt(text: string, target: number, from: number, line: number): number {
  for (let k = from; k < target; k++) if (text.charCodeAt(k) === 10) line++;
  return line;
}
