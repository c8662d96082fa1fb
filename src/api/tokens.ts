/**
 * Tokens of the tenant API: the operator's (from `TAUGATE_ADMIN_TOKEN`) and tenant tokens the operator
 * mints. A tenant token is `tgt_<id>_<secret>`: the 16-hex-digit id names its stored record, the 256-bit
 * secret proves it; only the SHA-256 of the whole token is stored, and the comparison is constant-time.
 *
 * @module
 */
import { isTokenId, TOKEN_ID_LENGTH } from "../store/tenant_store.ts";
import { timingSafeEqual, toHex } from "../util/bytes.ts";

/** Prefix of tenant tokens. */
export const TENANT_TOKEN_PREFIX = "tgt_";
const SECRET_HEX = 64;
/** Length of a tenant token. */
export const TENANT_TOKEN_LENGTH = TENANT_TOKEN_PREFIX.length + TOKEN_ID_LENGTH + 1 + SECRET_HEX;

const encoder = new TextEncoder();

/**
 * SHA-256 of a text's UTF-8 bytes (Web Crypto).
 *
 * @param text The text.
 * @returns The digest.
 */
export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

export { toHex };

export { timingSafeEqual };

/**
 * The token of an `Authorization: Bearer <token>` header.
 *
 * @param header The header's value, or `null`.
 * @returns The token, or `null` when the header is absent, of another scheme, or malformed.
 */
export function bearerToken(header: string | null): string | null {
  if (header === null || header.length > 1024) return null;
  const h = header.trim();
  if (h.length < 8 || h.slice(0, 7).toLowerCase() !== "bearer ") return null;
  const token = h.slice(7).trim();
  if (token === "") return null;
  // RFC 6750 token68 characters only.
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ||
      c === 45 || c === 46 || c === 95 || c === 126 || c === 43 || c === 47 || c === 61;
    if (!ok) return null;
  }
  return token;
}

/**
 * The id of a tenant token, or `null` when `token` does not have a tenant token's form.
 *
 * @param token A presented token.
 * @returns The id.
 */
export function tenantTokenId(token: string): string | null {
  if (token.length !== TENANT_TOKEN_LENGTH || !token.startsWith(TENANT_TOKEN_PREFIX)) return null;
  const id = token.slice(TENANT_TOKEN_PREFIX.length, TENANT_TOKEN_PREFIX.length + TOKEN_ID_LENGTH);
  const sep = token[TENANT_TOKEN_PREFIX.length + TOKEN_ID_LENGTH];
  const secret = token.slice(TENANT_TOKEN_PREFIX.length + TOKEN_ID_LENGTH + 1);
  return sep === "_" && isTokenId(id) && isSecretHex(secret) ? id : null;
}

function isSecretHex(hex: string): boolean {
  for (let i = 0; i < hex.length; i++) {
    const c = hex.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return hex.length === SECRET_HEX;
}

/**
 * Mints a tenant token: a random id and a random 256-bit secret (Web Crypto).
 *
 * @returns The token (shown once), its id, and the SHA-256 hex to store.
 * @example
 * ```ts
 * import { mintTenantToken } from "./tokens.ts";
 * const { token, id, hash } = await mintTenantToken();
 * ```
 */
export async function mintTenantToken(): Promise<{ token: string; id: string; hash: string }> {
  const id = toHex(crypto.getRandomValues(new Uint8Array(TOKEN_ID_LENGTH / 2)));
  const secret = toHex(crypto.getRandomValues(new Uint8Array(SECRET_HEX / 2)));
  const token = `${TENANT_TOKEN_PREFIX}${id}_${secret}`;
  return { token, id, hash: toHex(await sha256(token)) };
}

/**
 * Checks a presented token against a stored SHA-256 hex, in constant time.
 *
 * @param token The presented token.
 * @param storedHex The stored hash.
 * @returns Whether they match.
 */
export async function tokenMatches(token: string, storedHex: string): Promise<boolean> {
  const got = await sha256(token);
  const want = new Uint8Array(32);
  if (storedHex.length !== 64) return false;
  for (let i = 0; i < 32; i++) want[i] = parseInt(storedHex.slice(2 * i, 2 * i + 2), 16);
  return timingSafeEqual(got, want);
}
