/**
 * HAR 1.2 archives, as browsers (Chrome, Firefox) and proxies (Burp, ZAP) export them.
 *
 * @module
 */
import { quoteForMessage } from "../record/schema.ts";
import { afterBom, Collector, errorMessage, HeaderBag, isObject, own } from "./_util.ts";
import type { ImportOptions, ImportReport } from "./types.ts";
import { base64ToBytes } from "../util/bytes.ts";

/**
 * Imports the requests of a HAR archive (`log.entries[].request`): method, URL, headers and body.
 *
 * Headers are combined as `Headers` does (names lower-cased, repeated names joined with `, `, cookies with
 * `; `); of HTTP/2 pseudo-headers only `:authority` is kept, as `host`. The body is `postData.text`
 * (base64-decoded when `postData.encoding` is `base64`; bytes that are not UTF-8 become U+FFFD), or
 * `postData.params` serialised as a urlencoded form when there is no text. Responses are ignored.
 *
 * @param text The HAR file's JSON.
 * @param options Defaults for `label`, `family`, `tenant` and limits.
 * @returns The records and the skipped entries; `line` is the entry's 1-based index in `log.entries`, or 0
 *   when the file as a whole is not a HAR archive.
 * @throws {TypeError} When an option is out of range.
 * @example
 * ```ts
 * const har = '{"log":{"entries":[{"request":{"method":"GET","url":"https://a.example/","headers":[]}}]}}';
 * importHar(har, { label: 0 }).records; // [{ method: "GET", url: "https://a.example/", label: 0 }]
 * ```
 */
export function importHar(text: string, options: ImportOptions = {}): ImportReport {
  const out = new Collector(options);
  if (out.refuseOversize(text)) return out.report();
  let root: unknown;
  try {
    root = JSON.parse(afterBom(text) === 0 ? text : text.slice(1));
  } catch (e) {
    out.skip(0, `not a HAR file: invalid JSON: ${errorMessage(e)}`);
    return out.report();
  }
  const log = isObject(root) ? own(root, "log") : undefined;
  const entries = isObject(log) ? own(log, "entries") : undefined;
  if (!Array.isArray(entries)) {
    out.skip(0, "not a HAR file: no log.entries array");
    return out.report();
  }
  for (let i = 0; i < entries.length && !out.done; i++) {
    const request = requestOfEntry(entries[i]);
    if (typeof request === "string") out.skip(i + 1, request);
    else out.add(i + 1, request);
  }
  return out.report();
}

/** The record candidate of one entry, or why there is none. */
function requestOfEntry(entry: unknown): Record<string, unknown> | string {
  const request = isObject(entry) ? own(entry, "request") : undefined;
  if (!isObject(request)) return "entry has no request object";
  const method = own(request, "method"), url = own(request, "url");
  if (typeof method !== "string") return "request.method is not a string";
  if (typeof url !== "string") return "request.url is not a string";
  const headers = headersOf(own(request, "headers"));
  if (typeof headers === "string") return headers;
  const candidate: Record<string, unknown> = { method, url };
  if (headers) candidate.headers = headers;
  const postData = own(request, "postData");
  if (postData !== undefined) {
    const body = bodyOf(postData);
    if (typeof body !== "string") return body.error;
    candidate.body = body;
  }
  return candidate;
}

function headersOf(list: unknown): Record<string, string> | undefined | string {
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) return "request.headers is not an array";
  const bag = new HeaderBag();
  let authority: string | undefined;
  for (let j = 0; j < list.length; j++) {
    const h = list[j];
    const name = isObject(h) ? own(h, "name") : undefined, value = isObject(h) ? own(h, "value") : undefined;
    if (typeof name !== "string" || typeof value !== "string") {
      return `request.headers[${j}] is not a {name, value} pair of strings`;
    }
    if (name.startsWith(":")) {
      // HTTP/2 pseudo-headers: only the authority means something to a Request (its Host).
      if (name === ":authority") authority = value;
    } else bag.add(name, value);
  }
  if (authority !== undefined && !bag.has("host")) bag.add("host", authority);
  return bag.toObject();
}

function bodyOf(postData: unknown): string | { error: string } {
  if (!isObject(postData)) return { error: "request.postData is not an object" };
  const text = own(postData, "text"), encoding = own(postData, "encoding"), params = own(postData, "params");
  if (text !== undefined && typeof text !== "string") {
    return { error: "request.postData.text is not a string" };
  }
  if (encoding !== undefined && encoding !== "" && encoding !== "base64") {
    return { error: `unsupported request.postData.encoding ${quoteForMessage(String(encoding))}` };
  }
  const hasParams = Array.isArray(params) && params.length > 0;
  // Some exporters write `"text": ""` beside the params that hold the body.
  if (typeof text === "string" && (text !== "" || !hasParams)) {
    return encoding === "base64" ? decodeBase64(text) : text;
  }
  if (params === undefined) return "";
  if (!Array.isArray(params)) return { error: "request.postData.params is not an array" };
  const form = new URLSearchParams();
  for (let j = 0; j < params.length; j++) {
    const p = isObject(params[j]) ? params[j] as Record<string, unknown> : {};
    const name = own(p, "name"), value = own(p, "value") ?? "";
    if (typeof name !== "string" || typeof value !== "string") {
      return { error: `request.postData.params[${j}] is not a {name, value} pair of strings` };
    }
    form.append(name, value);
  }
  return form.toString();
}

const utf8 = new TextDecoder();

function decodeBase64(text: string): string | { error: string } {
  let bytes: Uint8Array;
  try {
    bytes = base64ToBytes(text);
  } catch {
    return { error: "request.postData.text is not valid base64" };
  }
  return utf8.decode(bytes);
}
