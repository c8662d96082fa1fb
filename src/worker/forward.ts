/**
 * Forwarding to an origin: the request goes on with its body streamed (never buffered), the origin's
 * response comes back streamed too.
 *
 * @module
 */
import { headerPairs } from "../middleware/headers.ts";

/** Hop-by-hop headers (RFC 9110 §7.6.1) and `host`, which belongs to the origin's URL. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);

/**
 * Checks an origin URL: `http:` or `https:`, no query or fragment. A path is a prefix for every request.
 *
 * @param origin e.g. `http://127.0.0.1:3000` or `https://app.internal/base`.
 * @returns The origin without a trailing slash.
 * @throws {TypeError} naming what is wrong.
 */
export function checkOrigin(origin: string): string {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    throw new TypeError(`ORIGIN: not a URL: ${JSON.stringify(origin)}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new TypeError(`ORIGIN: must be http: or https:, got ${u.protocol}`);
  }
  if (u.search || u.hash || u.username || u.password) {
    throw new TypeError("ORIGIN: must not have a query, a fragment or credentials");
  }
  let base = u.origin + u.pathname;
  while (base.endsWith("/")) base = base.slice(0, -1);
  return base;
}

/**
 * A handler that forwards each request to `origin` (path and query appended).
 *
 * @param origin A URL checked by `checkOrigin`.
 * @returns `(req) => Promise<Response>`; 502 JSON when the origin cannot be reached.
 * @example
 * ```ts ignore
 * const forward = forwarder("http://127.0.0.1:3000");
 * app.all("*", (c) => forward(c.req.raw));
 * ```
 */
export function forwarder(origin: string): (req: Request, requestId?: string) => Promise<Response> {
  const base = checkOrigin(origin);
  return async (req, requestId) => {
    const url = req.url;
    const scheme = url.indexOf("://");
    const slash = url.indexOf("/", scheme + 3);
    const target = base + (slash < 0 ? "/" : url.slice(slash));
    // Pairs, not a Headers copy: see headerPairs.
    const headers = headerPairs(req.headers, HOP_BY_HOP);
    const has = (name: string) => headers.some((h) => h[0] === name);
    // The host the request was scored for: the URL's (RFC 9112: an absolute-form target's authority wins
    // over the Host header), not a Host header that may name another.
    const end = slash < 0 ? url.length : slash;
    if (end > scheme + 3 && !has("x-forwarded-host")) {
      headers.push(["x-forwarded-host", url.slice(scheme + 3, end)]);
    }
    if (!has("x-forwarded-proto")) headers.push(["x-forwarded-proto", url.slice(0, scheme)]);
    const init: RequestInit & { duplex?: "half" } = {
      method: req.method,
      headers,
      redirect: "manual",
      body: req.body,
    };
    if (req.body !== null) init.duplex = "half"; // A streamed request body, sent as it arrives.
    try {
      return await fetch(target, init);
    } catch (err) {
      const reason = err instanceof Error ? err.name : "error";
      return Response.json({ error: "bad_gateway", reason, request_id: requestId ?? null }, { status: 502 });
    }
  };
}
