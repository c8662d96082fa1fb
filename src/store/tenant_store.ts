/**
 * The `TenantStore` contract: what the tenant API keeps besides the active head: the versions of each
 * tenant's head (for rollback) and the tenants' tokens (as hashes). Every adapter keeps it in the same
 * storage as its `HeadStore`, which it exposes as `heads`, so the hot path reads the head the API wrote.
 *
 * @module
 */
import { z } from "zod";
import type { StoredHead } from "./head_doc.ts";
import type { HeadStore } from "./types.ts";
import type { LearnStore } from "../learn/store.ts";

/** A tenant token as stored: the tenant and the SHA-256 of the token, never the token itself. */
export interface TokenRecord {
  /** The tenant the token acts for (and only for). */
  tenant: string;
  /** SHA-256 of the whole token, lower-case hex. */
  hash: string;
  /** ISO 8601 time of minting. */
  createdAt: string;
}

/** The active head and an opaque stamp that `commit` checks (stores without compare-and-set ignore it). */
export interface TenantSnapshot {
  /** The tenant's active head, or `null` when it has none. */
  active: StoredHead | null;
  /** What to give `commit` to change this state; `null` without a head, or where stamps are not kept. */
  stamp: string | null;
}

/** One change of a tenant's state, applied by `commit`. */
export interface TenantChange {
  /** The new active head; `null` removes it; absent leaves it. */
  active?: StoredHead | null;
  /** A version to add to the history (under its own key: concurrent writers never share one). */
  putHistory?: StoredHead;
  /** Versions to remove from the history. */
  deleteHistory?: number[];
}

/**
 * Persistent state of the tenant API. Documents are checked on the way in and out; tenant ids before any
 * key is built.
 */
export interface TenantStore {
  /** `memory`, `deno-kv` or `workers-kv`. */
  readonly kind: string;
  /** The active heads, in the same storage (what the middleware's cache reads). */
  readonly heads: HeadStore;
  /** Learning mode's shards and epochs, in the same storage (`src/learn/`). */
  readonly learning: LearnStore;
  /**
   * Whether `commit` is atomic and refuses a stale stamp (Deno KV, memory). Workers KV has no transactions:
   * there, `commit` writes the history first and then the active head, each one whole document in one `put`.
   */
  readonly atomic: boolean;
  /** The tenant's active head and its stamp. */
  read(tenant: string): Promise<TenantSnapshot>;
  /** Every version in the tenant's history, oldest first. */
  history(tenant: string): Promise<StoredHead[]>;
  /**
   * Applies a change if the active head is still the one `stamp` was read with.
   *
   * @returns `false` when it changed meanwhile (atomic stores only; nothing was written).
   */
  commit(tenant: string, change: TenantChange, stamp: string | null): Promise<boolean>;
  /** The record of a tenant token by its id (`tenantTokenId`), or `null` when there is none. */
  getToken(id: string): Promise<TokenRecord | null>;
  /** Stores the record of a newly minted token under its id. */
  putToken(id: string, record: TokenRecord): Promise<void>;
  /** Removes a token's record: the token no longer authenticates. */
  deleteToken(id: string): Promise<void>;
}

/** Length of a token id (hex). */
export const TOKEN_ID_LENGTH = 16;

/**
 * Whether `id` is a token id: 16 lower-case hex digits (checked before it becomes part of a key).
 *
 * @param id The candidate.
 * @returns `true` when it is one.
 * @example
 * ```ts
 * import { isTokenId } from "./tenant_store.ts";
 * isTokenId("0123456789abcdef"); // true
 * ```
 */
export function isTokenId(id: string): boolean {
  if (id.length !== TOKEN_ID_LENGTH) return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/**
 * Throws unless `id` is a token id.
 *
 * @param id The candidate.
 * @returns `id`.
 * @throws {RangeError} when it is not one.
 */
export function assertTokenId(id: string): string {
  if (typeof id !== "string" || !isTokenId(id)) throw new RangeError("invalid token id");
  return id;
}

const tokenRecordSchema = z.object({
  tenant: z.string().min(1).max(253),
  hash: z.string().length(64).regex(/^[0-9a-f]{64}$/),
  createdAt: z.string().min(1).max(64),
});

/**
 * Checks a stored token record.
 *
 * @param value A parsed value from storage.
 * @returns The record (unknown fields dropped).
 * @throws {TypeError} when it is not a token record.
 */
export function parseTokenRecord(value: unknown): TokenRecord {
  const r = tokenRecordSchema.safeParse(value);
  if (!r.success) throw new TypeError("invalid stored token record");
  return r.data;
}

/** Key of a token record, for stores with string keys (`token/<id>`). */
export function tokenKey(id: string): string {
  return `token/${id}`;
}

/** Prefix of a tenant's history keys, for stores with string keys (`history/<tenant>/`). */
export function historyPrefix(tenant: string): string {
  return `history/${tenant}/`;
}
