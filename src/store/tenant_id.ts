/**
 * Tenant ids: hostname-like names, checked before any KV key is built from them.
 *
 * @module
 */

/** Longest tenant id accepted (a DNS name's limit). */
export const MAX_TENANT_ID_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

/**
 * Whether `id` is a valid tenant id: lower-case DNS-like labels (`a-z`, `0-9`, `-`, not starting or
 * ending with `-`, 1 to 63 characters) joined by single dots, 253 characters at most. IPv4 addresses pass;
 * upper case, ports, brackets, slashes and anything else do not. One pass, no regular expression (the
 * default resolver feeds it the request's Host).
 *
 * @param id The candidate.
 * @returns `true` when it can be used in a storage key.
 * @example
 * ```ts
 * import { isTenantId } from "./tenant_id.ts";
 * isTenantId("shop.example.com"); // true
 * isTenantId("Shop.example.com"); // false: ids are lower case
 * ```
 */
export function isTenantId(id: string): boolean {
  const n = id.length;
  if (n === 0 || n > MAX_TENANT_ID_LENGTH) return false;
  let label = 0;
  for (let i = 0; i < n; i++) {
    const c = id.charCodeAt(i);
    if (c === 46) { // "."
      if (label === 0 || id.charCodeAt(i - 1) === 45) return false;
      label = 0;
      continue;
    }
    const alnum = (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
    if (!alnum && !(c === 45 && label > 0)) return false;
    if (++label > MAX_LABEL_LENGTH) return false;
  }
  return label > 0 && id.charCodeAt(n - 1) !== 45;
}

/**
 * Throws unless `id` is a valid tenant id (see `isTenantId`).
 *
 * @param id The candidate.
 * @returns `id`, typed as a string known to be valid.
 * @throws {RangeError} naming the bad id (cut to 80 characters).
 * @example
 * ```ts
 * import { assertTenantId } from "./tenant_id.ts";
 * const key = `head/${assertTenantId("shop-1")}`;
 * ```
 */
export function assertTenantId(id: unknown): string {
  if (typeof id !== "string" || !isTenantId(id)) {
    const shown = typeof id === "string" ? JSON.stringify(id.slice(0, 80)) : typeof id;
    throw new RangeError(
      `invalid tenant id ${shown}: expected lower-case hostname-like labels (a-z, 0-9, -) joined by dots`,
    );
  }
  return id;
}
