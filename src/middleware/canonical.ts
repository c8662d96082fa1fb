/**
 * The middleware's first step (and the standalone worker's, before routing): the request's URL in canonical
 * form, and the few requests taugate refuses itself. The library and the worker behave alike: a Hono app
 * routes on the URL as the server delivered it (Hono reads the path before any middleware runs), so the
 * worker canonicalises before dispatch, and `taugate()` does it again for anything else (exclusions, the
 * tenant and the features always see the canonical form); a request canonicalised once is not parsed twice.
 *
 * Deno's HTTP server hands the request target and the `Host` header over as the client sent them
 * (`http://SHOP.example.com/static/../admin`), where workerd, `fetch` and the training records all hold the
 * WHATWG URL parser's form (`http://shop.example.com/admin`). Left raw, the tenant resolver sees an
 * upper-case host that is no tenant id, an exclusion such as `/static/*` matches a path the origin then
 * resolves elsewhere, and the features differ from training's. So the URL is parsed once here and the
 * request rebuilt when its form differs (workerd's URLs already have it: there this costs one parse).
 *
 * | answer | when | who else answers before taugate |
 * | --- | --- | --- |
 * | 400 `bad_request` | the Host (or an absolute-form target's authority) is not a host: unparseable, or with credentials | Deno: malformed request lines, control bytes, bad framing |
 * | 405 `method_not_allowed` | `CONNECT`, `TRACE`, `TRACK`: `fetch` cannot forward them, and TRACE echoes credentials | Deno: methods that are not tokens |
 * | 414 `uri_too_long` | the request target (path and query) is over `MAX_TARGET_BYTES` | Deno: 400 from 64 KiB |
 *
 * Header blocks are not limited here: Deno refuses a head over about 64 KiB or 124 header lines with a
 * bare 400 before taugate runs, Cloudflare has its own limits, and the middleware reads at most the
 * feature spec's 48 headers of 512 characters whatever arrives.
 *
 * @module
 */
import { RAW_TARGETS, targetOfSerialisedUrl } from "../features/view.ts";
import { requestIdOf } from "./request_id.ts";

/** Longest request target (path and query, in canonical form) the worker accepts: 16 KiB. */
export const MAX_TARGET_BYTES = 16 * 1024;

/** Methods the worker refuses (405): `fetch` refuses to send them, and `TRACE`/`TRACK` reflect credentials. */
export const REFUSED_METHODS: readonly string[] = Object.freeze(["CONNECT", "TRACE", "TRACK"]);

const REFUSED = new Set(REFUSED_METHODS);

/** Requests already in canonical form (returned by `canonicalRequest`): the middleware does not parse them again. */
const CANONICAL = new WeakSet<Request>();

/** Whether `req` came out of `canonicalRequest` (its URL is canonical, and it was not refused). */
export function isCanonical(req: Request): boolean {
  return CANONICAL.has(req);
}

/** What the worker refused, for its log line. */
export interface Refusal {
  status: 400 | 405 | 414;
  error: string;
  reason: string;
  requestId: string;
}

/**
 * The request with its URL in canonical form, or the refusal.
 *
 * @param req The request as the server delivered it.
 * @param maxTarget Longest request target accepted, in UTF-16 units of the canonical form (ASCII).
 * @returns The same request when its URL is already canonical (the usual case), a copy with the canonical
 *   URL (method, headers, body stream and signal carried over) when not, or a `Refusal`.
 * @example
 * ```ts ignore
 * const out = canonicalRequest(req);
 * if (!(out instanceof Request)) return refusalResponse(out);
 * ```
 */
export function canonicalRequest(req: Request, maxTarget: number = MAX_TARGET_BYTES): Request | Refusal {
  const raw = req.url;
  const u = URL.parse(raw);
  if (u === null || u.username !== "" || u.password !== "" || u.host === "") {
    return refusal(
      req,
      400,
      "bad_request",
      "the Host header (or the target's authority) is not a valid host",
    );
  }
  const method = req.method.length <= 8 ? req.method.toUpperCase() : "";
  if (REFUSED.has(method)) {
    return refusal(req, 405, "method_not_allowed", `${method} requests are not served`);
  }
  const href = u.href;
  // Path and query: the href less its origin and fragment.
  const target = href.length - u.origin.length - u.hash.length;
  if (target > maxTarget) {
    return refusal(
      req,
      414,
      "uri_too_long",
      `the request target is ${target} bytes, over the ${maxTarget}-byte limit`,
    );
  }
  if (href === raw) {
    CANONICAL.add(req);
    return req;
  }
  const out = new Request(href, req);
  // The extractor still sees what normalisation removed (`/static/../../etc/passwd`).
  RAW_TARGETS.set(out, targetOfSerialisedUrl(raw));
  CANONICAL.add(out);
  return out;
}

/**
 * The JSON answer of a refusal (never cached).
 *
 * @param r The refusal.
 * @returns `{ error, reason, request_id }` with its status; a 405 also says which methods are allowed.
 */
export function refusalResponse(r: Refusal): Response {
  const headers: Record<string, string> = {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
  };
  if (r.status === 405) headers.allow = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
  return new Response(JSON.stringify({ error: r.error, reason: r.reason, request_id: r.requestId }), {
    status: r.status,
    headers,
  });
}

function refusal(req: Request, status: Refusal["status"], error: string, reason: string): Refusal {
  return { status, error, reason, requestId: requestIdOf(req) };
}

/**
 * The log line of a refusal (no target, no header: the method, capped, and what was answered).
 *
 * @param r The refusal.
 * @param method The request's method.
 */
export function refusalLogLine(r: Refusal, method: string): string {
  return JSON.stringify({
    msg: "taugate: refused",
    time: new Date().toISOString(),
    request_id: r.requestId,
    status: r.status,
    error: r.error,
    method: method.slice(0, 24),
  });
}
