/**
 * A `HeadStore` on Deno KV (a local SQLite-backed file, or Deno Deploy's KV). Needs `--unstable-kv`.
 *
 * Keys: `["taugate", "head", <tenant>]` holds the active head document (the only key the hot path reads);
 * `["taugate", "history", <tenant>, <version>]` is reserved for the tenant API's history.
 *
 * @module
 */
import { parseStoredHead, type StoredHead } from "./head_doc.ts";
import { assertTenantId } from "./tenant_id.ts";
import type { HeadStore } from "./types.ts";

/** The Deno KV key of a tenant's active head. */
export function denoActiveHeadKey(tenant: string): Deno.KvKey {
  return ["taugate", "head", tenant];
}

/** The Deno KV key of one version of a tenant's head (reserved for the tenant API). */
export function denoHistoryHeadKey(tenant: string, version: number): Deno.KvKey {
  return ["taugate", "history", tenant, version];
}

/**
 * A `HeadStore` over an open `Deno.Kv`. The caller owns the handle (and closes it).
 *
 * @example
 * ```ts
 * import { DenoKvHeadStore } from "./deno_kv.ts";
 * const kv = await Deno.openKv(":memory:"); // or a file, e.g. ".taugate/kv.sqlite3" (its folder must exist)
 * const store = new DenoKvHeadStore(kv);
 * console.log(await store.get("shop.example.com"));
 * kv.close();
 * ```
 */
export class DenoKvHeadStore implements HeadStore {
  readonly kind = "deno-kv";
  #kv: Deno.Kv;

  /**
   * Wraps an open Deno KV handle (the caller closes it).
   *
   * @param kv An open Deno KV handle.
   */
  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Reads and checks `["taugate", "head", <tenant>]`: the tenant's active head, or `null` when it has none. */
  async get(tenant: string): Promise<StoredHead | null> {
    const entry = await this.#kv.get(denoActiveHeadKey(assertTenantId(tenant)));
    return entry.value === null ? null : parseStoredHead(entry.value);
  }

  /** Checks `doc` and sets it, as an object, at `["taugate", "head", <tenant>]`: the tenant's active head. */
  async put(tenant: string, doc: StoredHead): Promise<void> {
    // Stored as a plain object: Deno KV's structured values keep it as is.
    await this.#kv.set(denoActiveHeadKey(assertTenantId(tenant)), parseStoredHead(doc));
  }

  /** Deletes `["taugate", "head", <tenant>]`: the global head scores the tenant's requests again. */
  async delete(tenant: string): Promise<void> {
    await this.#kv.delete(denoActiveHeadKey(assertTenantId(tenant)));
  }
}
