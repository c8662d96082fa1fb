/**
 * A cheap guess of an upload's format from its first line.
 *
 * @module
 */
import { afterBom, isHttpWhitespace } from "./_util.ts";
import { parseClfLine } from "./clf.ts";
import { parseRequestLine } from "./raw_http.ts";
import type { ImportFormat } from "./types.ts";

/** Only this much of the text is looked at. */
const SNIFF_CHARS = 8192;

/**
 * Guesses the format of a text from its first non-blank line: a JSON object whose first key is `log` is
 * HAR, any other object or an array is JSONL, a request line is a raw HTTP dump, a Common Log line is an
 * access log.
 *
 * @param text The upload (only its first 8 KiB are read).
 * @returns The format, or `null` when none fits.
 * @example
 * ```ts
 * detectFormat('{"log":{"version":"1.2","entries":[]}}'); // "har"
 * detectFormat("GET / HTTP/1.1\r\nHost: a\r\n\r\n"); // "raw"
 * ```
 */
export function detectFormat(text: string): ImportFormat | null {
  const head = text.slice(afterBom(text), SNIFF_CHARS);
  let i = 0;
  while (i < head.length && isHttpWhitespace(head.charCodeAt(i))) i++;
  if (head[i] === "[") return "jsonl";
  if (head[i] === "{") {
    let j = i + 1;
    while (j < head.length && isHttpWhitespace(head.charCodeAt(j))) j++;
    return head.startsWith('"log"', j) ? "har" : "jsonl";
  }
  const lineStart = head.lastIndexOf("\n", i) + 1;
  let end = head.indexOf("\n", i);
  if (end < 0) end = head.length;
  const line = head.slice(lineStart, end > lineStart && head.charCodeAt(end - 1) === 13 ? end - 1 : end);
  if (typeof parseRequestLine(line) !== "string") return "raw";
  if (typeof parseClfLine(line) !== "string") return "clf";
  return null;
}
