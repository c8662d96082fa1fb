/**
 * The console's response headers: a strict Content-Security-Policy (own scripts and styles only, no inline
 * code, Trusted Types so no HTML string can reach a DOM sink) and the usual hardening headers.
 *
 * @module
 */

/** The console's Content-Security-Policy. */
export const CONSOLE_CSP: string = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  // The page builds every node with textContent: any innerHTML-like sink throws instead of parsing.
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

/** Headers of every console answer (the content type is added per answer). */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy": CONSOLE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  // The page is a tool for one session: nothing of it belongs in a shared or private cache.
  "cache-control": "no-store",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
});
