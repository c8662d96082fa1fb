/**
 * Overflow views: what the extractor's read limits left unread, cut into requests it reads whole.
 *
 * The extractor reads a bounded part of every request (`FeatureSpec.caps`: 1,024 characters of a value,
 * 128 parameters, 4,096 characters of a query, 8,192 bytes of a body, 512 of a header value, …), so its
 * cost is bounded on any input. Without more, a payload placed after that much padding is never seen:
 * `?q=<1,100 letters>' OR 1=1--` scored as the letters alone. When an extraction says it was truncated,
 * the request is cut here into overflow views: each is the request with one part replaced by a piece of
 * what the limits cut off (the values, parameters, body, header values past them, in pieces that overlap so
 * that a payload across a cut is whole in one of them), small enough to be read whole (its `truncated`
 * feature set all the same: it is part of a cut request). The request's score is the highest of its own
 * and its views': so the middleware, the tenant API's dry run and the tools (`deno task score`, `eval`, the
 * site figures of `deno task train`) score it.
 *
 * Bounded: one pass over each part, and at most `maxViews` views (when a request needs more, the first half
 * and the last half of them: a payload goes after its padding); a request not inspected whole is reported
 * (`complete: false`), as is a body that went on past the bytes inspected (`RequestView.bodyUnread`).
 *
 * @module
 */
import {
  boundaryOf,
  contentKind,
  headerValueOf,
  isBinaryPart,
  nextPart,
  type PartSpan,
  sniffBody,
} from "./extract.ts";
import { FNV_OFFSET } from "./hash.ts";
import { KW_HTML, KW_PATH, KW_SHELL, KW_SQL, KW_TEMPLATE, KW_TOOL, lexiconClasses } from "./lexicon.ts";
import { FEATURE_SPEC, type FeatureSpec } from "./spec.ts";
import type { RequestView } from "./view.ts";

/** Overflow views per request, at most (each costs one extraction and one embedding). */
export const MAX_OVERFLOW_VIEWS = 16;
/** Body bytes a request's overflow views inspect by default, the body cap's included. */
export const INSPECT_BYTES = 64 * 1024;
/**
 * Characters consecutive pieces of one part share (a quarter of a piece when that is less): a payload up to
 * this long, less the few characters a cut may step back over an escape, is whole in one piece.
 */
export const OVERLAP = 128;

/** The overflow views of a request. */
export interface Overflow {
  views: RequestView[];
  /**
   * Everything the limits cut off is in `views`; false when more than `maxViews` views were needed (then
   * `views` are the first and the last of them), or when the body went on past the bytes read
   * (`RequestView.bodyUnread`).
   */
  complete: boolean;
}

const utf8 = new TextDecoder("utf-8", { fatal: false });
const utf8Encoder = new TextEncoder();
const WINDOW_BOUNDARY = "taugate-overflow";

/**
 * The overflow views of a request whose extraction was truncated (`FeatureVector.dense`'s `truncated`).
 *
 * @param view The request's view (with the body bytes read past the cap in `rest`, when inspected).
 * @param spec The feature spec (its caps are what the extractor read).
 * @param maxViews Views at most.
 * @returns The views (none when nothing was cut off) and whether they hold everything that was.
 */
export function overflowViews(
  view: RequestView,
  spec: Readonly<FeatureSpec> = FEATURE_SPEC,
  maxViews: number = MAX_OVERFLOW_VIEWS,
): Overflow {
  const out = new ViewList();
  const caps = spec.caps;
  const target = view.target;
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? "" : target.slice(q + 1);
  const values = new ValueViews(view, path, Math.min(VALUE_VIEWS, maxViews), caps);
  values.query(query);

  // The path past its cap (the raw one, which keeps what normalisation removed).
  const rawPath = pathOf(view.rawTarget ?? target);
  if (rawPath.length > caps.path) {
    for (const p of pieces(rawPath, caps.path)) {
      out.add(() => ({ ...base(view), target: p.startsWith("/") ? p : "/" + p }));
    }
  }

  // Header values past their cap, cookies past theirs, headers past the count.
  const headers = view.headers;
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i];
    if (name === "cookie") {
      const items: string[] = [];
      cookieItems(value, 4 * caps.headerValue, spec, items);
      for (const packed of pack(items, caps.cookies, 4 * caps.headerValue, "; ")) {
        out.add(() => ({ ...base(view), target, headers: replaced(headers, i, packed) }));
      }
    } else if (name === "referer" && value.length > caps.headerValue && linkStart(value) !== null) {
      // A link: the rest of its path, or its query's parameters, behind the link's own start, so that each
      // view is a link too.
      const start = linkStart(value)!;
      const room = caps.headerValue - start.length;
      const rest = start.endsWith("?") ? value.slice(value.indexOf("?") + 1) : value.slice(start.length);
      const items: string[] = [];
      if (start.endsWith("?")) paramItems(rest, 0, 0, spec, items, room);
      else items.push(...pieces(rest, room));
      for (const packed of pack(items, caps.params, room, "&")) {
        out.add(() => ({ ...base(view), target, headers: replaced(headers, i, start + packed) }));
      }
    } else if (value.length > caps.headerValue) {
      for (const p of pieces(value, caps.headerValue)) {
        out.add(() => ({ ...base(view), target, headers: replaced(headers, i, p) }));
      }
    }
  }
  for (let at = caps.headers; at < headers.length; at += caps.headers) {
    out.add(() => ({ ...base(view), target, headers: headers.slice(at, at + caps.headers) }));
  }

  // Query parameters past the count, the query's cap or a value's cap.
  if (query.length > caps.value || query.length > 2 * caps.params) {
    const items: string[] = [];
    paramItems(query, caps.query, caps.params, spec, items);
    for (const packed of pack(items, caps.params, caps.query, "&")) {
      out.add(() => ({ ...base(view), target: path + "?" + packed }));
    }
  }

  // The body: its parameters, strings or parts past the caps, or its text past the body cap.
  const full = fullBody(view);
  const contentType = full === null ? "" : headerOf(view.headers, "content-type");
  let kind = full === null ? "binary" : contentKind(contentType);
  const text = kind === "binary" ? "" : utf8.decode(full!);
  if (kind === "") kind = sniffBody(text);
  values.body(text, kind, contentType);
  if (full !== null && full.length > Math.min(caps.value, caps.partContent)) {
    if (kind !== "binary") {
      // What the request's own extraction read of the body: the text of its `body` bytes (the last
      // character may be cut in half).
      const readEnd = view.bodyTruncated ? Math.max(0, utf8.decode(view.body!).length - 1) : Infinity;
      if (kind === "form") {
        const items: string[] = [];
        paramItems(text, readEnd, caps.params, spec, items);
        for (const packed of pack(items, caps.params, caps.body, "&")) {
          out.add(() => bodyView(view, path, packed, contentType));
        }
      } else if (kind === "json") {
        const items: string[] = [];
        jsonItems(text, readEnd, spec, items);
        for (const packed of pack(items.map((s) => `"${s}"`), caps.params, caps.body - 2, ",")) {
          out.add(() => bodyView(view, path, "[" + packed + "]", "application/json"));
        }
      } else if (kind === "multipart") {
        const items: string[] = [];
        partItems(text, readEnd, contentType, spec, items);
        const type = `multipart/form-data; boundary=${WINDOW_BOUNDARY}`;
        for (const packed of pack(items, caps.parts, caps.body - 64, "")) {
          out.add(() => bodyView(view, path, packed + `--${WINDOW_BOUNDARY}--\r\n`, type));
        }
      } else if (view.rest !== undefined) {
        for (const p of bytePieces(full, view.body!.length, caps.body)) {
          out.add(() => ({ ...bodyView(view, path, "", contentType), body: p }));
        }
      }
    }
  }
  // Body bytes past those read were never inspected: past `rest`, or past `body` when nothing more was read.
  const unread = view.bodyUnread === true || (view.bodyTruncated && view.rest === undefined);
  const chosen = values.views();
  const rest = out.result(maxViews - chosen.length, !unread);
  return { views: [...chosen, ...rest.views], complete: rest.complete };
}

/**
 * The start of a referer that its overflow views keep: an absolute link's text up to its query's `?` (its
 * origin and `/?` when that is long), or its origin and `/` when it has no query; `null` for a referer that
 * is not such a link.
 */
function linkStart(value: string): string | null {
  const scheme = value.indexOf("://");
  if (scheme <= 0 || scheme > 16) return null;
  const slash = value.indexOf("/", scheme + 3);
  if (slash < 0 || slash > 256) return null;
  const q = value.indexOf("?");
  if (q < 0) return value.slice(0, slash + 1);
  return q < 256 ? value.slice(0, q + 1) : value.slice(0, slash) + "/?";
}

/**
 * The views a request needs, built only when chosen: all of them when they fit the limit; else the first
 * half and the last half of them (parts in the order path, headers, query, body: a payload is put after its
 * padding, so the body's and the query's ends count most), and the result is not complete.
 */
class ViewList {
  private readonly make: (() => RequestView)[] = [];
  add(view: () => RequestView): void {
    this.make.push(view);
  }
  result(max: number, complete: boolean): Overflow {
    const n = this.make.length;
    if (n <= max) return { views: this.make.map((f) => f()), complete };
    const head = Math.ceil(max / 2);
    const chosen = [...this.make.slice(0, head), ...this.make.slice(n - (max - head))];
    return { views: chosen.map((f) => f()), complete: false };
  }
}

/**
 * A view's method and headers, without a body: what every overflow view starts from. A view is part of a
 * request that was cut, and its `truncated` feature says so, as the request's own does (`bodyTruncated`):
 * measured on the real sites, a piece of a long ordinary value scores as that value does in the request
 * itself, not higher (the model has learnt what a cut request looks like).
 */
function base(view: RequestView): Omit<RequestView, "target"> {
  return { method: view.method, headers: view.headers, body: null, bodyTruncated: true };
}

/** A view with `text` as its body (of `contentType`), at the request's path. */
function bodyView(view: RequestView, path: string, text: string, contentType: string): RequestView {
  const headers = view.headers.map(([n, v]): [string, string] => [n, n === "content-type" ? contentType : v]);
  return { ...base(view), target: path, headers, body: utf8Encoder.encode(text) };
}

function replaced(headers: readonly [string, string][], i: number, value: string): [string, string][] {
  const out = headers.slice();
  out[i] = [headers[i][0], value];
  return out;
}

function headerOf(headers: readonly [string, string][], name: string): string {
  for (const [n, v] of headers) if (n === name) return v;
  return "";
}

function pathOf(target: string): string {
  const q = target.indexOf("?");
  return q < 0 ? target : target.slice(0, q);
}

/** The body bytes read, the request's own and those past them. */
function fullBody(view: RequestView): Uint8Array | null {
  if (view.body === null) return null;
  if (view.rest === undefined || view.rest.length === 0) return view.body;
  const all = new Uint8Array(view.body.length + view.rest.length);
  all.set(view.body);
  all.set(view.rest, view.body.length);
  return all;
}

/**
 * `s` in pieces of at most `size` characters, consecutive pieces sharing `OVERLAP` (a quarter of `size` when that is less). A piece never ends
 * inside an escape (`%41`, `%u0041`, `\u0041`, `&#65;`) or a surrogate pair, and the next one starts
 * before it.
 */
export function pieces(s: string, size: number): string[] {
  const out: string[] = [];
  if (s.length <= size) {
    out.push(s);
    return out;
  }
  let at = 0;
  for (;;) {
    let end = Math.min(s.length, at + size);
    if (end < s.length) {
      for (let k = end - 1; k >= end - 6 && k > at; k--) {
        const c = s.charCodeAt(k);
        if (c === 37 || c === 92 || c === 38) {
          end = k;
          break;
        }
      }
      const last = s.charCodeAt(end - 1);
      if (last >= 0xd800 && last <= 0xdbff && end - 1 > at) end--;
    }
    out.push(s.slice(at, end));
    if (end >= s.length) break;
    let next = Math.max(at + 1, end - Math.min(OVERLAP, size >> 2));
    for (let k = next - 1; k >= next - 6 && k > at; k--) {
      const c = s.charCodeAt(k);
      if (c === 37 || c === 92 || c === 38) {
        next = k;
        break;
      }
    }
    at = next;
  }
  return out;
}

/**
 * The bytes of a body from `from` on, in pieces of at most `size` bytes that start `OVERLAP` bytes before
 * `from` and share `OVERLAP` with the next; never cut inside a UTF-8 character or an escape.
 */
function bytePieces(bytes: Uint8Array, from: number, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = Math.max(0, from - OVERLAP);
  while (at < bytes.length && (bytes[at] & 0xc0) === 0x80) at++;
  for (;;) {
    let end = Math.min(bytes.length, at + size);
    if (end < bytes.length) {
      while (end > at + 1 && (bytes[end] & 0xc0) === 0x80) end--;
      for (let k = end - 1; k >= end - 6 && k > at; k--) {
        const c = bytes[k];
        if (c === 37 || c === 92 || c === 38) {
          end = k;
          break;
        }
      }
    }
    out.push(bytes.subarray(at, end));
    if (end >= bytes.length) break;
    let next = Math.max(at + 1, end - OVERLAP);
    while (next < end && (bytes[next] & 0xc0) === 0x80) next++;
    at = next;
  }
  return out;
}

/**
 * The parameters of `s` (`a=1&b=2`) that the extractor did not read whole, as items `k=v` (a value past
 * its cap in pieces, each with its name; a name past the value cap in pieces of its own). Read whole: among
 * the first `maxParams`, ending within `readEnd`, name and value within their caps.
 */
function paramItems(
  s: string,
  readEnd: number,
  maxParams: number,
  spec: Readonly<FeatureSpec>,
  out: string[],
  size: number = spec.caps.value,
) {
  const caps = spec.caps;
  let n = 0, at = 0;
  while (at <= s.length) {
    let amp = s.indexOf("&", at);
    if (amp < 0) amp = s.length;
    if (amp > at) {
      let eq = -1;
      for (let k = at; k < amp; k++) {
        if (s.charCodeAt(k) === 61) {
          eq = k;
          break;
        }
      }
      const keyEnd = eq < 0 ? amp : eq;
      const keyLen = keyEnd - at, valueLen = eq < 0 ? 0 : amp - eq - 1;
      const whole = n < maxParams && amp <= readEnd && keyLen <= caps.value && valueLen <= caps.value;
      n++;
      if (!whole) {
        let key = s.slice(at, keyEnd);
        if (keyLen > caps.key) {
          for (const p of pieces(key, size)) out.push(p);
          key = key.slice(0, caps.key);
        }
        if (eq >= 0) {
          for (const p of pieces(s.slice(eq + 1, amp), size - key.length - 1)) out.push(key + "=" + p);
        }
      }
    }
    at = amp + 1;
  }
}

/**
 * The strings of a JSON text (keys and values, as written: escapes kept) that the extractor did not read
 * whole, in pieces of at most the value cap: those past the parameter count (strings and numbers, as the
 * extractor counts them), past `readEnd` or longer than the value cap.
 */
function jsonItems(s: string, readEnd: number, spec: Readonly<FeatureSpec>, out: string[]) {
  const caps = spec.caps;
  let n = 0, i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 34) {
      const end = jsonStringEnd(s, i);
      if (n >= caps.params || end >= readEnd || end - i - 1 > caps.value) {
        for (const p of jsonPieces(s.slice(i + 1, end), caps.value)) out.push(p);
      }
      n++;
      i = end + 1;
    } else if ((c >= 48 && c <= 57) || c === 45) {
      while (i < s.length) {
        const d = s.charCodeAt(i);
        if (!((d >= 48 && d <= 57) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45)) break;
        i++;
      }
      n++;
    } else i++;
  }
}

/** Where the JSON string opening at `s[i]` (a `"`) closes: its closing quote's index, or `s.length`. */
function jsonStringEnd(s: string, i: number): number {
  let j = i + 1;
  while (j < s.length) {
    const d = s.charCodeAt(j);
    if (d === 34) break;
    j += d === 92 ? 2 : 1;
  }
  return Math.min(j, s.length);
}

/**
 * A JSON string's content (as written) in pieces that are JSON string contents too: cut in its text (its
 * escapes undone, so none is cut in two) and written again; a string that is not valid JSON is cut as it
 * is written, its backslashes then literal.
 */
function jsonPieces(raw: string, size: number): string[] {
  let value = raw;
  try {
    value = JSON.parse('"' + raw + '"') as string;
  } catch { /* not valid JSON: its text as written */ }
  // Written again, a character may take up to 6 (`\u001f`): pieces of a sixth of the cap always fit.
  const written = pieces(value, size).map((p) => JSON.stringify(p).slice(1, -1));
  return written.every((p) => p.length <= size)
    ? written
    : pieces(value, Math.floor(size / 6)).map((p) => JSON.stringify(p).slice(1, -1));
}

/**
 * The parts of a multipart text that the extractor did not read whole, as parts of a window body (their
 * own head, a piece of their content): past the part count, past `readEnd`, or with text content longer
 * than the part content cap (binary content stays out, as the extractor leaves it out).
 */
function partItems(
  s: string,
  readEnd: number,
  contentType: string,
  spec: Readonly<FeatureSpec>,
  out: string[],
) {
  const caps = spec.caps;
  const boundary = boundaryOf(contentType);
  if (boundary === "") return;
  const delim = "--" + boundary;
  const part: PartSpan = { headStart: 0, headEnd: -1, bodyStart: 0, bodyEnd: 0, next: -1 };
  let at = s.indexOf(delim), parts = 0;
  // The extractor's own reading (`nextPart`): a part without a head counts, and is skipped.
  while (at >= 0 && nextPart(s, delim, at, part)) {
    const index = parts++;
    at = part.next;
    if (part.headEnd < 0) continue;
    const { headStart, headEnd, bodyStart, bodyEnd } = part;
    const head = s.slice(headStart, Math.min(headEnd, headStart + 2048));
    const partType = headerValueOf(head, "content-type").toLowerCase();
    const binary = isBinaryPart(partType);
    const length = Math.max(0, bodyEnd - bodyStart);
    const whole = index < caps.parts && bodyEnd <= readEnd && (binary || length <= caps.partContent);
    if (!whole) {
      const open = `--${WINDOW_BOUNDARY}\r\n${head.trim()}\r\n\r\n`;
      if (binary || length === 0) out.push(open + "\r\n");
      else {
        for (const p of pieces(s.slice(bodyStart, bodyEnd), caps.partContent)) out.push(open + p + "\r\n");
      }
    }
  }
}

/**
 * The cookies of a cookie header that the extractor did not read whole (past the count, past `readEnd`
 * characters, or a value past the value cap), as items `k=v`.
 */
function cookieItems(s: string, readEnd: number, spec: Readonly<FeatureSpec>, out: string[]) {
  const caps = spec.caps;
  let n = 0, at = 0;
  while (at <= s.length) {
    let semi = s.indexOf(";", at);
    if (semi < 0) semi = s.length;
    let a = at, b = semi;
    while (a < b && s.charCodeAt(a) === 32) a++;
    while (b > a && s.charCodeAt(b - 1) === 32) b--;
    if (b > a) {
      const whole = n < caps.cookies && b <= readEnd && b - a <= caps.value;
      n++;
      if (!whole) {
        let eq = -1;
        for (let k = a; k < b; k++) {
          if (s.charCodeAt(k) === 61) {
            eq = k;
            break;
          }
        }
        const key = s.slice(a, eq < 0 ? b : Math.min(eq, a + caps.key));
        if (eq < 0) { for (const p of pieces(key, caps.value)) out.push(p); }
        else for (const p of pieces(s.slice(eq + 1, b), caps.value)) out.push(key + "=" + p);
      }
    }
    at = semi + 1;
  }
}

/**
 * Items joined by `sep` into as few texts as hold them: at most `maxItems` items and `maxBytes` bytes of
 * UTF-8 each (an item is never split: callers cut items to fit).
 */
function pack(items: readonly string[], maxItems: number, maxBytes: number, sep: string): string[] {
  const out: string[] = [];
  let cur: string[] = [], bytes = 0;
  for (const item of items) {
    const size = utf8Length(item);
    if (cur.length > 0 && (cur.length >= maxItems || bytes + sep.length + size > maxBytes)) {
      out.push(cur.join(sep));
      cur = [], bytes = 0;
    }
    bytes += size + (cur.length > 0 ? sep.length : 0);
    cur.push(item);
  }
  if (cur.length > 0) out.push(cur.join(sep));
  return out;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdbff ? 2 : 3; // a pair: 2 + 2
  }
  return n;
}

/** Values of a request that get a view of their own, at most (the most suspicious ones: `ValueViews`). */
export const VALUE_VIEWS = 2;
/** The suspicion (`suspicion`) a value needs for a view of its own. */
export const SUSPICION_MIN = 3;

/**
 * Value views: the request's most suspicious values, each alone in a view of its own.
 *
 * The extractor scales each group of features (all query values, all body values) to unit norm, so a payload
 * among many ordinary values weighs less than alone: measured with the shipped model, `1' UNION SELECT …`
 * scored 0.995 alone in a form and 0.873 after four short fields; `<script>…` 0.9999 alone and 0.942 after 60
 * fields. A request with two values or more, of which one looks like code (`suspicion`), gets up to
 * `VALUE_VIEWS` views that hold one value each (with its name, at the request's path, with its headers): the
 * model reads the payload as it would alone. Costs: one pass over the query and the body inspected, and an
 * embedding per view, only for requests with a suspicious value. The views go to the values of highest rank
 * (`suspicionRank`: kinds of code's characters times lexicon words), so an attacker who wants the payload out
 * of them must send two values that look more like code than it does, and those are scored alone in its place.
 */
class ValueViews {
  private readonly top: { rank: number; make: () => RequestView }[] = [];
  private count = 0;
  constructor(
    private readonly view: RequestView,
    private readonly path: string,
    private readonly max: number,
    private readonly caps: Readonly<FeatureSpec["caps"]>,
  ) {}

  /** Query parameters `k=v&…`: each value (a long one in pieces) a candidate. */
  query(query: string): void {
    forParams(query, this.caps.key, (key, value) => {
      this.count++;
      for (const p of pieces(value, this.caps.value)) {
        this.offer(
          suspicion(p, true),
          () => whole({ ...base(this.view), target: `${this.path}?${key}=${p}` }),
        );
      }
    });
  }

  /** A body's values: a form's parameters, a JSON text's string values, a multipart body's text parts. */
  body(text: string, kind: string, contentType: string): void {
    if (kind === "form") {
      forParams(text, this.caps.key, (key, value) => {
        this.count++;
        for (const p of pieces(value, this.caps.value)) {
          this.offer(
            suspicion(p, true),
            () => whole(bodyView(this.view, this.path, `${key}=${p}`, contentType)),
          );
        }
      });
    } else if (kind === "json") {
      forJsonValues(text, this.caps.key, (key, value) => {
        this.count++;
        for (const p of jsonPieces(value, this.caps.value)) {
          const body = key === null ? `["${p}"]` : `{"${key}":"${p}"}`;
          this.offer(
            suspicion(p, false),
            () => whole(bodyView(this.view, this.path, body, "application/json")),
          );
        }
      });
    } else if (kind === "multipart") {
      const boundary = boundaryOf(contentType);
      if (boundary === "") return;
      const delim = "--" + boundary;
      const part: PartSpan = { headStart: 0, headEnd: -1, bodyStart: 0, bodyEnd: 0, next: -1 };
      const type = `multipart/form-data; boundary=${WINDOW_BOUNDARY}`;
      let at = text.indexOf(delim);
      while (at >= 0 && nextPart(text, delim, at, part)) {
        at = part.next;
        if (part.headEnd < 0) continue;
        this.count++;
        const head = text.slice(part.headStart, Math.min(part.headEnd, part.headStart + 2048));
        const open = `--${WINDOW_BOUNDARY}\r\n${head.trim()}\r\n\r\n`;
        const close = `\r\n--${WINDOW_BOUNDARY}--\r\n`;
        const binary = isBinaryPart(headerValueOf(head, "content-type").toLowerCase());
        // The part's names count (`name="…"`, `filename="…"`), not the head's syntax or words (`form-data`,
        // `Content-Type`): its quotes and semicolons are not counted.
        const disposition = headerValueOf(head, "content-disposition");
        const semi = disposition.indexOf(";");
        const names = semi < 0 ? "" : disposition.slice(semi + 1);
        const named = suspicion(names.replaceAll('"', " ").replaceAll(";", " "), false);
        const namedRank = suspicionRank();
        if (binary) {
          this.offer(named, () => whole(bodyView(this.view, this.path, open + close, type)), namedRank);
        } else {
          const content = text.slice(part.bodyStart, Math.max(part.bodyStart, part.bodyEnd));
          for (const p of pieces(content, this.caps.partContent)) {
            const score = named + suspicion(p, false);
            const rank = Math.max(namedRank, suspicionRank());
            this.offer(score, () => whole(bodyView(this.view, this.path, open + p + close, type)), rank);
          }
        }
      }
    }
  }

  /** The views of the chosen values: none when the request has fewer than two values. */
  views(): RequestView[] {
    return this.count < 2 ? [] : this.top.map((c) => c.make());
  }

  /**
   * Keeps the `max` values of highest rank (`suspicionRank`) among those whose `suspicion` reaches
   * `SUSPICION_MIN` (of equal ones, the later: a payload goes after its padding).
   */
  // `rank` defaults to the rank of the `suspicion` call that gave `score` (its argument, evaluated first).
  private offer(score: number, make: () => RequestView, rank: number = suspicionRank()): void {
    if (score < SUSPICION_MIN || this.max === 0) return;
    const top = this.top;
    if (top.length === this.max && rank < top[top.length - 1].rank) return;
    let i = top.length;
    while (i > 0 && top[i - 1].rank <= rank) i--;
    top.splice(i, 0, { rank, make });
    if (top.length > this.max) top.pop();
  }
}

/**
 * Calls `f(name, value)` for each parameter of `a=1&b=2` (as written; the name cut at `keyCap`), a name
 * without `=` with value "".
 */
function forParams(s: string, keyCap: number, f: (key: string, value: string) => void): void {
  let at = 0;
  while (at < s.length) {
    let amp = s.indexOf("&", at);
    if (amp < 0) amp = s.length;
    if (amp > at) {
      const eq = s.indexOf("=", at);
      if (eq >= 0 && eq < amp) f(s.slice(at, Math.min(eq, at + keyCap)), s.slice(eq + 1, amp));
      else f(s.slice(at, Math.min(amp, at + keyCap)), "");
    }
    at = amp + 1;
  }
}

/**
 * Calls `f(key, value)` for each string value of a JSON text (as written, escapes kept), with the last key
 * read before it (`null` before any; cut at `keyCap` characters); a string followed by `:` is a key.
 */
function forJsonValues(s: string, keyCap: number, f: (key: string | null, value: string) => void): void {
  let key: string | null = null;
  let i = 0;
  while (i < s.length) {
    if (s.charCodeAt(i) !== 34) {
      i++;
      continue;
    }
    const end = jsonStringEnd(s, i);
    let k = end + 1;
    while (
      k < s.length &&
      (s.charCodeAt(k) === 32 || s.charCodeAt(k) === 10 || s.charCodeAt(k) === 13 || s.charCodeAt(k) === 9)
    ) k++;
    if (k < s.length && s.charCodeAt(k) === 58) {
      key = s.slice(i + 1, Math.min(end, i + 1 + keyCap));
      if (key.endsWith("\\")) key = key.slice(0, -1);
    } else f(key, s.slice(i + 1, end));
    i = end + 1;
  }
}

const HEX = (c: number) =>
  (c >= 48 && c <= 57) ? c - 48 : (c | 32) >= 97 && (c | 32) <= 102 ? (c | 32) - 87 : -1;
/** Characters that code carries and ordinary values seldom do: quotes, angle brackets, parentheses, `;`, `` ` ``, `|`, `$`, braces, `\`, `%` (a decoded one: double encoding). */
const SUSPECT = new Uint8Array(128);
for (const c of `'"<>();\`|\${}\\%`) SUSPECT[c.charCodeAt(0)] = 1;
const WORD_CLASSES = KW_SQL | KW_SHELL | KW_HTML | KW_TEMPLATE | KW_TOOL;

/**
 * How much a value looks like code, cheaply and without a regular expression: one per quote, angle bracket,
 * parenthesis, `;`, `` ` ``, `|`, `$`, brace, backslash, `--`, `/*` and decoded `%`; two per `..` and per SQL,
 * shell, HTML/JS, template or tool word of the lexicon; one per path word (`etc`, `passwd`). A URL-encoded
 * value (`urlEncoded`) is read with its `%XX` and `+` undone once; at most 1,024 characters are read.
 */
export function suspicion(s: string, urlEncoded: boolean): number {
  let score = 0, h = FNV_OFFSET, word = 0, prev = 0, words = 0;
  kinds.fill(0);
  const n = Math.min(s.length, 1024);
  for (let i = 0; i <= n; i++) {
    let c = i < n ? s.charCodeAt(i) : 32;
    if (urlEncoded && i < n) {
      if (c === 43) c = 32;
      else if (c === 37 && i + 2 < n) {
        const a = HEX(s.charCodeAt(i + 1)), b = HEX(s.charCodeAt(i + 2));
        if (a >= 0 && b >= 0) c = a * 16 + b, i += 2;
      }
    }
    const lower = c >= 65 && c <= 90 ? c | 32 : c;
    if ((lower >= 97 && lower <= 122) || lower === 95) {
      if (word < 32) h = Math.imul(h ^ lower, 0x01000193);
      word++;
    } else {
      if (word > 0) {
        const kw = lexiconClasses(h);
        if (kw & WORD_CLASSES) score += 2, words++;
        else if (kw & KW_PATH) score += 1, words++;
        word = 0, h = FNV_OFFSET;
      }
      if (c < 128 && SUSPECT[c] === 1) score++, kinds[c] = 1;
      else if ((c === 45 && prev === 45) || (c === 42 && prev === 47)) score++, kinds[c] = 1;
      else if (c === 46 && prev === 46) score += 2, kinds[46] = 1;
    }
    prev = c;
  }
  let k = 0;
  for (let c = 0; c < 128; c++) k += kinds[c];
  lastRank = (1 + k) * (1 + Math.min(words, 4));
  return score;
}

/** The kinds of code's characters the last `suspicion` call saw (one slot a character; `-` for `--`, `*` for `/*`). */
const kinds = new Uint8Array(128);
let lastRank = 0;

/**
 * How the last `suspicion` call ranks its value among a request's: (1 + the kinds of code's characters it
 * holds) × (1 + its lexicon words, at most 4). Code needs both; prose full of SQL words (one kind, or none)
 * or a run of one character does not outrank a payload, as the additive count let it (two such decoys took
 * both views from `1' UNION SELECT …`).
 */
export function suspicionRank(): number {
  return lastRank;
}

const whole = (v: RequestView): RequestView => ({ ...v, bodyTruncated: false });
