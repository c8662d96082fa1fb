/** Byte helpers shared by the tenant API (tokens) and the middleware (a monitoring header's secret). */

/**
 * Compares two byte strings in time that depends only on their lengths.
 *
 * @param a One.
 * @param b The other.
 * @returns Whether they are equal.
 * @example
 * ```ts
 * import { timingSafeEqual } from "./bytes.ts";
 * timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])); // true
 * ```
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
