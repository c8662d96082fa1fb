/**
 * The `HeadStore` contract: where tenant heads live (Workers KV, Deno KV, memory).
 *
 * @module
 */
import type { StoredHead } from "./head_doc.ts";

/**
 * Persistent storage of tenant heads. The hot path calls only `get`, through the cache (`cached.ts`), and
 * reads exactly one key per tenant: the active head. Every method checks the tenant id before it builds a
 * key and checks documents on the way in and out.
 */
export interface HeadStore {
  /** `memory`, `deno-kv` or `workers-kv` (shown in logs). */
  readonly kind: string;
  /**
   * The tenant's active head document, or `null` when it has none.
   *
   * @throws {RangeError} for an invalid tenant id; {TypeError} for a corrupt document; whatever the backend
   *   throws when it fails.
   */
  get(tenant: string): Promise<StoredHead | null>;
  /** Makes `doc` the tenant's active head (the tenant API's history and rollback build on this). */
  put(tenant: string, doc: StoredHead): Promise<void>;
  /** Removes the tenant's active head: the global head scores its requests again. */
  delete(tenant: string): Promise<void>;
}

/** Key of a tenant's active head, for stores with string keys (`head/<tenant>`). */
export function activeHeadKey(tenant: string): string {
  return `head/${tenant}`;
}

/**
 * Key of one version of a tenant's head in the history, for stores with string keys
 * (`history/<tenant>/<version, zero-padded to 10 digits>`, so that a prefix listing of versions with as many
 * digits is in version order). Written by the tenant API: the hot path never reads it.
 */
export function historyHeadKey(tenant: string, version: number): string {
  return `history/${tenant}/${String(version).padStart(10, "0")}`;
}
