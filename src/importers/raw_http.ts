/**
 * Raw HTTP/1.x request dumps (Burp and ZAP "copy request", `nc`, hand-written files): one request after
 * another, separated by blank lines.
 *
 * @module
 */
import { isHttpToken, MAX_HEADERS, quoteForMessage, utf8Length } from "../record/schema.ts";
import { afterBom, Collector, HeaderBag, isBlank, isHttpWhitespace, trimHttpWhitespace } from "./_util.ts";
import type { ImportOptions, ImportReport } from "./types.ts";

/**
 * Imports requests from a raw HTTP/1.x dump.
 *
 * Each request is a request line in origin-form or absolute-form (`GET /p?q HTTP/1.1`,
 * `GET http://h/p HTTP/1.1`), header lines (obsolete folding joined with a space), a blank line and a body.
 * The body is framed by `Transfer-Encoding: chunked` (decoded) or `Content-Length` (in UTF-8 bytes of the
 * text); with neither there is no body, as in HTTP/1.1. LF or CRLF line ends; blank lines before a request
 * are ignored. A malformed request is reported at the line where it began, and reading resumes at the next
 * valid request line or the next text after a blank line, whichever comes first.
 *
 * @param text The dump.
 * @param options Defaults for `label`, `family`, `tenant` and limits.
 * @returns The records and the skipped requests (`line` is where each began).
 * @throws {TypeError} When an option is out of range.
 * @example
 * ```ts
 * const { records } = importRawHttp("GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n");
 * // [{ method: "GET", url: "/a?b=1", headers: { host: "x" } }]
 * ```
 */
export function importRawHttp(text: string, options: ImportOptions = {}): ImportReport {
  const out = new Collector(options);
  if (out.refuseOversize(text)) return out.report();
  const cur = new Cursor(text);
  let unframedEnd = -1; // where the last request with a Content-Type but no framing ended
  while (!cur.atEnd && !out.done) {
    const start = cur.line;
    const at = cur.pos;
    const line = cur.nextLine();
    if (isBlank(line)) continue;
    const requestLine = parseRequestLine(line);
    if (typeof requestLine === "string") {
      // Text right after a request that announced a body but did not frame it is most often that body.
      out.skip(start, at === unframedEnd ? `${requestLine} (a body without Content-Length?)` : requestLine);
      resync(cur);
      continue;
    }
    const request = readRequest(requestLine, cur);
    if (typeof request === "string") {
      out.skip(start, request);
      resync(cur);
    } else {
      out.add(start, request);
      const headers = request.headers as Record<string, string> | undefined;
      if (request.body === undefined && headers && Object.hasOwn(headers, "content-type")) {
        unframedEnd = cur.pos;
      }
    }
  }
  return out.report();
}

/** The parts of a request line. */
export interface RequestLine {
  method: string;
  target: string;
  version: string;
}

/**
 * Splits an HTTP/1.x request line (words separated by spaces or tabs).
 *
 * @param line One line, without its end.
 * @returns Method, target and version, or why the line is not a request line.
 * @example
 * ```ts
 * parseRequestLine("GET /a?b HTTP/1.1"); // { method: "GET", target: "/a?b", version: "HTTP/1.1" }
 * parseRequestLine("GET /a"); // 'not a request line (METHOD TARGET HTTP/x): "GET /a"'
 * ```
 */
export function parseRequestLine(line: string): RequestLine | string {
  const words: string[] = [];
  let i = 0;
  while (words.length < 4) {
    while (i < line.length && isHttpWhitespace(line.charCodeAt(i))) i++;
    if (i >= line.length) break;
    const from = i;
    while (i < line.length && !isHttpWhitespace(line.charCodeAt(i))) i++;
    words.push(line.slice(from, i));
  }
  if (words.length !== 3) return `not a request line (METHOD TARGET HTTP/x): ${quoteForMessage(line)}`;
  const [method, target, version] = words;
  if (!isHttpToken(method)) return `method ${quoteForMessage(method)} is not an HTTP token`;
  if (!isHttpVersion(version)) return `not an HTTP version: ${quoteForMessage(version)}`;
  return { method, target, version };
}

/**
 * Whether `s` is an HTTP version: `HTTP/` then digits, optionally `.` and digits.
 *
 * @param s The text.
 * @returns `true` for `HTTP/1.1`, `HTTP/2`, ...; `false` otherwise.
 * @example
 * ```ts
 * isHttpVersion("HTTP/2"); // true
 * ```
 */
export function isHttpVersion(s: string): boolean {
  if (!s.startsWith("HTTP/")) return false;
  let i = 5, digits = 0;
  while (i < s.length && isDigit(s.charCodeAt(i))) i++, digits++;
  if (digits === 0) return false;
  if (i === s.length) return true;
  if (s[i] !== ".") return false;
  const minor = ++i;
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  return i > minor && i === s.length;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Skips the rest of a malformed request: lines up to a valid request line or the next block of text. */
function resync(cur: Cursor): void {
  let blankSeen = false;
  while (!cur.atEnd) {
    const line = cur.peekLine();
    // A text block after a blank line is the next (maybe malformed) request, to be reported, not swallowed.
    if ((blankSeen && !isBlank(line)) || typeof parseRequestLine(line) !== "string") return;
    if (isBlank(line)) blankSeen = true;
    cur.nextLine();
  }
}

/** Reads headers and body after a request line; the record candidate, or why the request is malformed. */
function readRequest(rl: RequestLine, cur: Cursor): Record<string, unknown> | string {
  const fields: [string, string][] = [];
  while (!cur.atEnd) {
    const n = cur.line;
    // A request line cannot be a header line (no spaces in names): it starts the next request.
    if (typeof parseRequestLine(cur.peekLine()) !== "string") break;
    const line = cur.nextLine();
    if (isBlank(line)) break;
    if (isHttpWhitespace(line.charCodeAt(0))) {
      if (fields.length === 0) return `line ${n}: continuation line before any header`;
      fields[fields.length - 1][1] += " " + trimHttpWhitespace(line);
      continue;
    }
    const colon = line.indexOf(":");
    const name = colon < 0 ? "" : line.slice(0, colon);
    if (!isHttpToken(name)) return `line ${n}: not a header line (NAME: value): ${quoteForMessage(line)}`;
    if (fields.length === MAX_HEADERS) return `line ${n}: more than ${MAX_HEADERS} headers`;
    fields.push([name, line.slice(colon + 1)]);
  }
  const headers = new HeaderBag();
  for (const [name, value] of fields) headers.add(name, value);
  const candidate: Record<string, unknown> = { method: rl.method, url: rl.target };
  const object = headers.toObject();
  if (object) candidate.headers = object;
  const body = readBody(cur, object ?? {});
  if (typeof body === "object") return body.error;
  if (body !== undefined) candidate.body = body;
  return candidate;
}

function readBody(cur: Cursor, headers: Record<string, string>): string | undefined | { error: string } {
  const te = Object.hasOwn(headers, "transfer-encoding") ? headers["transfer-encoding"] : undefined;
  const cl = Object.hasOwn(headers, "content-length") ? headers["content-length"] : undefined;
  if (te !== undefined) {
    // Transfer-Encoding wins over Content-Length (RFC 9112 §6.3).
    const codings = te.toLowerCase().split(",");
    if (trimHttpWhitespace(codings[codings.length - 1]) !== "chunked") {
      return { error: `unsupported Transfer-Encoding ${quoteForMessage(te)}` };
    }
    return readChunked(cur);
  }
  if (cl !== undefined) {
    if (cl.length === 0 || cl.length > 15 || ![...cl].every((ch) => isDigit(ch.charCodeAt(0)))) {
      return { error: `bad Content-Length ${quoteForMessage(cl)}` };
    }
    const n = Number(cl);
    const body = cur.readBytes(n);
    if (body === null) return { error: `Content-Length ${n} but only ${cur.bytesLeft} bytes follow` };
    return body;
  }
  return undefined; // no framing: no body (RFC 9112 §6.3)
}

function readChunked(cur: Cursor): string | { error: string } {
  const parts: string[] = [];
  for (;;) {
    if (cur.atEnd) return { error: "chunked body ends before its last (0-size) chunk" };
    const n = cur.line;
    const sizeLine = cur.nextLine();
    const semi = sizeLine.indexOf(";");
    const hex = trimHttpWhitespace(semi < 0 ? sizeLine : sizeLine.slice(0, semi));
    if (hex.length === 0 || hex.length > 8 || ![...hex].every(isHexDigit)) {
      return { error: `line ${n}: bad chunk size ${quoteForMessage(sizeLine)}` };
    }
    const size = parseInt(hex, 16);
    if (size === 0) break;
    const data = cur.readBytes(size);
    if (data === null) return { error: `line ${n}: chunk of ${size} bytes but only ${cur.bytesLeft} follow` };
    parts.push(data);
    const after = cur.line;
    if (!isBlank(cur.nextLine())) return { error: `line ${after}: chunk data longer than its size ${size}` };
  }
  // Trailer fields (ignored) run to a blank line; a request line means the blank line was left out.
  while (!cur.atEnd && typeof parseRequestLine(cur.peekLine()) === "string") {
    if (isBlank(cur.nextLine())) break;
  }
  return parts.join("");
}

function isHexDigit(ch: string): boolean {
  const c = ch.charCodeAt(0);
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** A position in the text, with its line number and UTF-8 byte offset (for Content-Length). */
class Cursor {
  pos: number;
  line = 1;
  #byte = 0;
  readonly #totalBytes: number;

  constructor(readonly text: string) {
    this.pos = afterBom(text);
    this.#totalBytes = utf8Length(text) - (this.pos === 1 ? 3 : 0); // a BOM is 3 bytes
  }

  get atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  get bytesLeft(): number {
    return this.#totalBytes - this.#byte;
  }

  /** The current line without its end; does not move. */
  peekLine(): string {
    const end = this.#lineEnd();
    return this.text.slice(this.pos, end > this.pos && this.text.charCodeAt(end - 1) === 13 ? end - 1 : end);
  }

  /** The current line without its end; moves past it. */
  nextLine(): string {
    const line = this.peekLine();
    const end = this.#lineEnd();
    this.#advanceTo(end < this.text.length ? end + 1 : end);
    return line;
  }

  /** Exactly `n` UTF-8 bytes of text from here, or `null` (without moving) when fewer are left. */
  readBytes(n: number): string | null {
    if (n > this.bytesLeft) return null;
    const from = this.pos;
    let bytes = 0, i = from;
    while (bytes < n && i < this.text.length) {
      const c = this.text.charCodeAt(i);
      const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < this.text.length &&
        (this.text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
      bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
      i += pair ? 2 : 1;
    }
    this.#advanceTo(i);
    return this.text.slice(from, i);
  }

  slice(from: number, to: number): string {
    return this.text.slice(from, to);
  }

  #lineEnd(): number {
    const end = this.text.indexOf("\n", this.pos);
    return end < 0 ? this.text.length : end;
  }

  #advanceTo(to: number): void {
    const span = this.text.slice(this.pos, to);
    this.#byte += utf8Length(span);
    for (let i = 0; i < span.length; i++) if (span.charCodeAt(i) === 10) this.line++;
    this.pos = to;
  }
}
