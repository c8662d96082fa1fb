/**
 * The default tenant of a request: its host name.
 *
 * @module
 */
import { isTenantId } from "../store/tenant_id.ts";

/**
 * The host name of a serialised absolute URL (`Request.url`), without port, if it is a valid tenant id.
 * String scanning only: the host comes from the client's `Host` header.
 *
 * @param url `Request.url`: normalised by the WHATWG URL parser on workerd and in `new Request`, but with the
 *   Host as the client sent it behind `Deno.serve` (hence the lower-casing here).
 * @returns The tenant id, or `null` (IPv6 literal, invalid name).
 * @example
 * ```ts
 * import { hostTenant } from "./tenant.ts";
 * hostTenant("https://shop.example.com:8443/cart?id=1"); // "shop.example.com"
 * ```
 */
export function hostTenant(url: string): string | null {
  const scheme = url.indexOf("://");
  if (scheme < 0) return null;
  const start = scheme + 3;
  let end = start;
  const n = url.length;
  while (end < n) {
    const c = url.charCodeAt(end);
    if (c === 47 || c === 63 || c === 35) break; // / ? #
    end++;
  }
  let host = url.slice(start, end);
  const at = host.lastIndexOf("@");
  if (at >= 0) host = host.slice(at + 1);
  if (host.startsWith("[")) return null;
  const colon = host.indexOf(":");
  if (colon >= 0) host = host.slice(0, colon);
  if (isTenantId(host)) return host;
  // Host names are case-insensitive: `SHOP.example.com` is the tenant `shop.example.com`, not no tenant.
  host = host.toLowerCase();
  return isTenantId(host) ? host : null;
}
