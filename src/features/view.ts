/**
 * One shape for a request, whichever way it arrives: a Web `Request` (the worker) or a canonical record
 * (training). Both roads end in the same `RequestView`, so both give the same features.
 */
import type { RequestRecord } from "../record/record.ts";

/** The parts of a request that features are computed from, already normalised as the runtime would. */
export interface RequestView {
  /** Method as `Request` normalises it (standard methods upper-cased, others as sent). */
  method: string;
  /** Origin-form target: path and `?query`, serialised by the WHATWG URL parser. */
  target: string;
  /**
   * The target as the client sent it, when normalisation changed it (dot segments, backslashes, duplicate
   * slashes, encodings): what normalisation removed is evidence of the request (`/a/../../etc/passwd`).
   */
  rawTarget?: string;
  /** Lower-cased names, sorted, duplicates combined with `, ` (the iteration order of `Headers`). */
  headers: [string, string][];
  /** At most the body cap's bytes of the body; `null` when there is none. */
  body: Uint8Array | null;
  /** More body existed than `body`. */
  bodyTruncated: boolean;
  /**
   * Body bytes read past `body`, for the overflow views (`overflow.ts`) only: the features of the request
   * itself never see them. Present when the reader was asked to inspect more than the body cap.
   */
  rest?: Uint8Array;
  /** The body went on past `body` and `rest`: those bytes were never inspected. */
  bodyUnread?: boolean;
}

const NORMALISED_METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"]);
const PLACEHOLDER_BASE = "http://taugate.invalid";
const encoder = new TextEncoder();

/** `Request`'s method normalisation: standard methods are upper-cased, others kept as sent. */
export function normaliseMethod(method: string): string {
  const upper = method.toUpperCase();
  return NORMALISED_METHODS.has(upper) ? upper : method;
}

/** Path and query of an absolute URL string that the WHATWG parser produced (`Request.url`). */
export function targetOfSerialisedUrl(url: string): string {
  const scheme = url.indexOf("://");
  const slash = url.indexOf("/", scheme < 0 ? 0 : scheme + 3);
  if (slash < 0) {
    const q = url.indexOf("?");
    return q < 0 ? "/" : "/" + url.slice(q);
  }
  const hash = url.indexOf("#", slash);
  return hash < 0 ? url.slice(slash) : url.slice(slash, hash);
}

/**
 * Normalises a record's URL (origin-form or absolute) the way a runtime builds `Request.url`, and returns
 * its origin-form target. A URL the parser rejects is kept as given.
 */
export function normaliseTarget(url: string): string {
  try {
    const u = new URL(url, PLACEHOLDER_BASE);
    return u.pathname + u.search;
  } catch {
    return url;
  }
}

/**
 * Whether an origin-form target may change under WHATWG normalisation: a `.` segment, a backslash, a
 * character outside the URL code points that are kept as they are. One pass, no regex; `false` means the
 * target is already canonical (the usual case), so the hot path skips the parse.
 */
export function mayNormalise(target: string): boolean {
  let prev = 47, query = false;
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 32 || c >= 127 || c === 34 || c === 35 || c === 60 || c === 62) return true;
    if (query) {
      if (c === 39) return true; // the query's `'` is percent-encoded for http(s)
      continue;
    }
    if (c === 63) {
      if (prev === 46) return true;
      query = true;
      continue;
    }
    if (c === 92 || c === 96 || c === 123 || c === 125 || c === 94 || c === 124) return true;
    if (c === 46 && prev === 47) return true; // "/." starts a dot segment (or a dotfile: parsed, unchanged)
    if (
      c === 37 && prev === 47 && target.charCodeAt(i + 1) === 50 && (target.charCodeAt(i + 2) | 32) === 101
    ) {
      return true; // "/%2e"
    }
    prev = c;
  }
  return !query && prev === 46;
}

/**
 * The raw targets of requests that the standalone worker rebuilt in canonical form (`canonical.ts`), so the
 * extractor still sees what normalisation removed. Keyed weakly: an entry lives as long as its request.
 */
export const RAW_TARGETS: WeakMap<Request, string> = new WeakMap();

/** The canonical target of a raw origin-form target, with the raw one when they differ. */
export function targets(raw: string): { target: string; rawTarget?: string } {
  if (!mayNormalise(raw)) return { target: raw };
  // Appended to an origin, not resolved against it: `//x` is a path here, not an authority.
  const target = normaliseTarget(PLACEHOLDER_BASE + (raw.startsWith("/") ? raw : "/" + raw));
  return target === raw ? { target } : { target, rawTarget: raw };
}

/** Headers of a record as `Headers` would iterate them: names lower-cased and sorted, values trimmed. */
export function normaliseHeaders(headers: Record<string, string> | undefined): [string, string][] {
  if (!headers) return [];
  const merged = new Map<string, string>();
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (typeof value !== "string") continue;
    const key = name.toLowerCase();
    const v = trimHttpWhitespace(value);
    const prev = merged.get(key);
    merged.set(key, prev === undefined ? v : `${prev}, ${v}`);
  }
  return [...merged.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function trimHttpWhitespace(s: string): string {
  let a = 0, b = s.length;
  while (a < b && isHttpWs(s.charCodeAt(a))) a++;
  while (b > a && isHttpWs(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function isHttpWs(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/**
 * The view of a canonical record.
 *
 * @param rec The record.
 * @param bodyCap Bytes of the body to keep.
 * @param inspect Bytes of the body to read in all (at least `bodyCap`): those past `bodyCap` are the view's
 *   `rest`, for overflow views.
 * @returns The view; its body is the UTF-8 encoding of `rec.body`, cut to `bodyCap` bytes.
 */
export function viewFromRecord(rec: RequestRecord, bodyCap: number, inspect: number = bodyCap): RequestView {
  let body: Uint8Array | null = null;
  let bodyTruncated = false;
  let rest: Uint8Array | undefined, bodyUnread = false;
  if (typeof rec.body === "string" && rec.body.length > 0) {
    const cap = Math.max(bodyCap, inspect);
    // Every UTF-16 unit is at least one byte, so the first cap units cover the first cap bytes.
    const head = rec.body.length > cap ? rec.body.slice(0, cap + 1) : rec.body;
    const encoded = encoder.encode(head);
    bodyTruncated = encoded.length > bodyCap || rec.body.length > cap + 1;
    body = encoded.length > bodyCap ? encoded.subarray(0, bodyCap) : encoded;
    if (cap > bodyCap && encoded.length > bodyCap) {
      rest = encoded.subarray(bodyCap, Math.min(encoded.length, cap));
      bodyUnread = encoded.length > cap || rec.body.length > cap + 1;
    }
  }
  // An origin-form URL is appended to the origin (`//x` is a path there), as a server reads a request line.
  const target = normaliseTarget(rec.url.startsWith("/") ? PLACEHOLDER_BASE + rec.url : rec.url);
  // The target as sent: an absolute-form URL loses its scheme and authority, either form its fragment.
  const hash = rec.url.indexOf("#");
  const sent = rec.url.startsWith("/")
    ? (hash < 0 ? rec.url : rec.url.slice(0, hash))
    : targetOfSerialisedUrl(rec.url);
  return {
    method: normaliseMethod(rec.method),
    target,
    ...(sent !== target && mayNormalise(sent) ? { rawTarget: sent } : {}),
    headers: normaliseHeaders(rec.headers),
    body,
    bodyTruncated,
    ...(rest !== undefined ? { rest, bodyUnread } : {}),
  };
}

/**
 * Reads at most `cap` bytes of a stream and cancels the rest. Used on a clone or a tee branch, so the
 * other branch still delivers every byte. A stream read to its end stays locked to the reader (nothing is
 * left in it).
 *
 * @returns The bytes read and whether more were available.
 */
export async function readPrefix(
  stream: ReadableStream<Uint8Array>,
  cap: number,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  try {
    while (total <= cap) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.length;
    }
    truncated = total > cap;
  } finally {
    // A stream read to its end needs no release (and Deno's releaseLock builds an Error, stack and all).
    if (truncated) reader.cancel().catch(() => {});
  }
  if (chunks.length === 1 && !truncated) return { bytes: chunks[0], truncated };
  const out = new Uint8Array(Math.min(total, cap));
  let at = 0;
  for (const c of chunks) {
    if (at >= out.length) break;
    const take = Math.min(c.length, out.length - at);
    out.set(take === c.length ? c : c.subarray(0, take), at);
    at += take;
  }
  return { bytes: out, truncated };
}

/** The request's body broke off before its first `bodyCap` bytes were read (the client's fault, not the reader's). */
export class BodyReadError extends Error {
  /** @param cause What the body stream failed with. */
  constructor(cause: unknown) {
    super(`the request body could not be read: ${cause instanceof Error ? cause.name : "error"}`, { cause });
    this.name = "BodyReadError";
  }
}

/**
 * The view of a Web `Request`. The body is read from a clone, so the request itself stays unread.
 *
 * @param req The request.
 * @param bodyCap Bytes of the body to read for its features.
 * @param inspect Bytes of the body to read in all (at least `bodyCap`; those past it are the view's `rest`).
 * @throws {BodyReadError} when the body stream fails within the bytes read (truncated, badly framed).
 */
export async function viewFromRequest(
  req: Request,
  bodyCap: number,
  inspect: number = bodyCap,
): Promise<RequestView> {
  return await viewOrPromiseFromRequest(req, bodyCap, inspect);
}

/**
 * `viewFromRequest` without a promise for a request without a body (most requests): the hot path skips an
 * `async` call and its `await` there. The view is the same.
 *
 * @param req The request.
 * @param bodyCap Bytes of the body to read for its features.
 * @param inspect Bytes of the body to read in all (at least `bodyCap`; those past it are the view's `rest`).
 * @returns The view, or a promise of it when the body has to be read.
 * @throws {BodyReadError} (the promise rejects) as `viewFromRequest`.
 */
export function viewOrPromiseFromRequest(
  req: Request,
  bodyCap: number,
  inspect: number = bodyCap,
): RequestView | Promise<RequestView> {
  const headers: [string, string][] = [];
  // forEach, not for-of: Deno's Headers iterator sorts and combines the whole list again on every step.
  req.headers.forEach((value, name) => headers.push([name, value]));
  if (req.body === null) {
    return {
      method: req.method,
      ...targets(RAW_TARGETS.get(req) ?? targetOfSerialisedUrl(req.url)),
      headers,
      body: null,
      bodyTruncated: false,
    };
  }
  return viewWithBody(req, bodyCap, Math.max(bodyCap, inspect), headers);
}

async function viewWithBody(
  req: Request,
  bodyCap: number,
  cap: number,
  headers: [string, string][],
): Promise<RequestView> {
  const stream = req.clone().body!; // (a body already read throws here: not the client's doing)
  let read;
  try {
    read = await readPrefix(stream, cap);
  } catch (err) {
    throw new BodyReadError(err);
  }
  const bytes = read.bytes;
  const view: RequestView = {
    method: req.method,
    ...targets(RAW_TARGETS.get(req) ?? targetOfSerialisedUrl(req.url)),
    headers,
    body: bytes.length > bodyCap ? bytes.subarray(0, bodyCap) : bytes.length > 0 ? bytes : null,
    bodyTruncated: read.truncated || bytes.length > bodyCap,
  };
  if (bytes.length > bodyCap) {
    view.rest = bytes.subarray(bodyCap);
    view.bodyUnread = read.truncated;
  }
  return view;
}
