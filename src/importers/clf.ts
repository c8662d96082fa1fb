/**
 * NCSA Common and Combined Log Format: the default access logs of nginx and Apache.
 *
 * ```
 * host ident user [date] "METHOD target HTTP/x" status bytes "referer" "user-agent"
 * ```
 *
 * @module
 */
import { isHttpToken, quoteForMessage } from "../record/schema.ts";
import { Collector, forEachLine, HeaderBag, isBlank } from "./_util.ts";
import type { ImportOptions, ImportReport } from "./types.ts";

/**
 * Imports requests from access-log lines in Common or Combined Log Format.
 *
 * Quoted fields may hold backslash escapes: `\"`, `\\`, `\n`, `\r`, `\t` (Apache) and `\xHH` (nginx, which
 * writes `"` as `\x22`); escaped bytes are decoded as UTF-8. The referer and user-agent of the Combined
 * format become headers (`-` means absent); fields after them are ignored. The target is kept as logged
 * (not decoded or normalised); `GET /` without a version (HTTP/0.9) is accepted. Logs carry no body.
 *
 * @param text Log lines.
 * @param options Defaults for `label`, `family`, `tenant` and limits.
 * @returns The records and the skipped lines.
 * @throws {TypeError} When an option is out of range.
 * @example
 * ```ts
 * const line = '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "-" "curl/8"';
 * importClf(line).records; // [{ method: "GET", url: "/a.gif", headers: { "user-agent": "curl/8" } }]
 * ```
 */
export function importClf(text: string, options: ImportOptions = {}): ImportReport {
  const out = new Collector(options);
  if (out.refuseOversize(text)) return out.report();
  forEachLine(text, (line, n) => {
    if (isBlank(line)) return;
    const request = parseClfLine(line);
    if (typeof request === "string") out.skip(n, request);
    else out.add(n, request);
    return !out.done;
  });
  return out.report();
}

/** One field of a log line: bare, `[bracketed]` or `"quoted"` (escapes decoded). */
interface Field {
  kind: "bare" | "bracket" | "quoted";
  value: string;
}

/**
 * Reads one Common or Combined Log Format line.
 *
 * @param line One log line, without its end.
 * @returns The record candidate (method, target as logged, referer and user-agent headers), or why the
 *   line is not one.
 * @example
 * ```ts
 * parseClfLine('1.2.3.4 - - [d] "GET /x HTTP/1.1" 200 5'); // { method: "GET", url: "/x" }
 * ```
 */
export function parseClfLine(
  line: string,
): { method: string; url: string; headers?: Record<string, string> } | string {
  const fields = splitFields(line);
  if (typeof fields === "string") return fields;
  if (fields.length < 7) return `${fields.length} fields, a Common Log line has at least 7`;
  if (fields[3].kind !== "bracket") return "the 4th field is not a [date]";
  if (fields[4].kind !== "quoted") return 'the 5th field is not a "request"';
  if (!isStatus(fields[5].value)) return `status ${quoteForMessage(fields[5].value)} is not a 3-digit number`;
  const request = fields[4].value;
  if (request === "-" || request === "") return "no request line logged";
  const sp = request.indexOf(" ");
  const method = sp < 0 ? request : request.slice(0, sp);
  if (sp < 0 || !isHttpToken(method)) {
    return `request ${quoteForMessage(request)} is not METHOD TARGET HTTP/x`;
  }
  // The target may hold spaces if the client sent them: it is everything between method and version.
  let end = request.length;
  const lastSp = request.lastIndexOf(" ");
  if (lastSp > sp && request.startsWith("HTTP/", lastSp + 1)) end = lastSp;
  const url = request.slice(sp + 1, end);
  if (url.length === 0) return `request ${quoteForMessage(request)} has no target`;
  const bag = new HeaderBag();
  if (fields.length > 7 && fields[7].value !== "-") bag.add("referer", fields[7].value);
  if (fields.length > 8 && fields[8].value !== "-") bag.add("user-agent", fields[8].value);
  const headers = bag.toObject();
  return headers ? { method, url, headers } : { method, url };
}

function isStatus(s: string): boolean {
  return s.length === 3 && [...s].every((ch) => ch >= "0" && ch <= "9");
}

/** Splits a line into fields separated by spaces, in one pass. */
function splitFields(line: string): Field[] | string {
  const fields: Field[] = [];
  let i = 0;
  for (;;) {
    while (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9) i++;
    if (i >= line.length) return fields;
    const c = line[i];
    if (c === '"') {
      const q = readQuoted(line, i);
      if (typeof q === "string") return q;
      fields.push({ kind: "quoted", value: q.value });
      i = q.end;
    } else if (c === "[") {
      const close = line.indexOf("]", i);
      if (close < 0) return `unterminated [ at column ${i + 1}`;
      fields.push({ kind: "bracket", value: line.slice(i + 1, close) });
      i = close + 1;
    } else {
      const from = i;
      while (i < line.length && line.charCodeAt(i) !== 32 && line.charCodeAt(i) !== 9) i++;
      fields.push({ kind: "bare", value: line.slice(from, i) });
      continue;
    }
    if (i < line.length && line.charCodeAt(i) !== 32 && line.charCodeAt(i) !== 9) {
      return `no space after the field ending at column ${i} (broken quote?)`;
    }
  }
}

const utf8 = new TextDecoder();
/** Apache's escapes; an unknown escape is kept as written. */
const SIMPLE_ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\" };

/** A quoted field from `open` (its `"`): the decoded value and the index after the closing quote. */
function readQuoted(line: string, open: number): { value: string; end: number } | string {
  let value = "";
  let bytes: number[] = [];
  const flushBytes = () => {
    // Runs of \xHH are decoded together: nginx escapes each byte of a multi-byte character.
    if (bytes.length > 0) value += utf8.decode(new Uint8Array(bytes)), bytes = [];
  };
  let i = open + 1, from = i;
  while (i < line.length) {
    const c = line[i];
    if (c === '"') {
      value += line.slice(from, i);
      flushBytes();
      return { value, end: i + 1 };
    }
    if (c !== "\\") {
      if (bytes.length > 0) flushBytes();
      i++;
      continue;
    }
    value += line.slice(from, i);
    const next = line[i + 1];
    const hex = next === "x" ? parseHexByte(line, i + 2) : -1;
    if (hex >= 0x80) {
      bytes.push(hex);
      i += 4;
    } else if (hex >= 0) {
      flushBytes();
      value += String.fromCharCode(hex); // ASCII needs no UTF-8 decoding
      i += 4;
    } else {
      flushBytes();
      value += next !== undefined && Object.hasOwn(SIMPLE_ESCAPES, next)
        ? SIMPLE_ESCAPES[next]
        : "\\" + (next ?? "");
      i += 2;
    }
    from = i;
  }
  return `unterminated quote at column ${open + 1}`;
}

function parseHexByte(s: string, i: number): number {
  const h = hexValue(s.charCodeAt(i)), l = hexValue(s.charCodeAt(i + 1));
  return h < 0 || l < 0 ? -1 : h * 16 + l;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}
