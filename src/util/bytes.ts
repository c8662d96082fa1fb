/** Byte helpers: constant-time comparison, hex and base64 (tokens, request ids, stored heads and shards, HAR bodies). */

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

/**
 * Lower-case hex of bytes.
 *
 * @param bytes The bytes.
 * @returns The hex text.
 */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * Standard base64 of bytes (built in chunks, so large arrays do not overflow the call stack).
 *
 * @param bytes The bytes.
 */
export function bytesToBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * Bytes of standard base64.
 *
 * @param text The base64 text.
 * @throws {DOMException} when it is not base64 (`atob`'s error).
 */
export function base64ToBytes(text: string): Uint8Array {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}
