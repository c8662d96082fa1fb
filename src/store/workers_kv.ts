/**
 * A `HeadStore` on Cloudflare Workers KV (the binding `TENANT_KV`).
 *
 * Keys: `head/<tenant>` holds the active head document as JSON text (the only key the hot path reads);
 * `history/<tenant>/<version, 10 digits>` is reserved for the tenant API's history.
 *
 * @module
 */
import { parseStoredHead, type StoredHead } from "./head_doc.ts";
import { assertTenantId } from "./tenant_id.ts";
import { activeHeadKey, type HeadStore } from "./types.ts";

/** The part of Workers KV's `KVNamespace` binding that the store uses (structurally typed). */
export interface KVNamespace {
  /** The value of `key` as text, or `null` when the key does not exist. */
  get(key: string, type: "text"): Promise<string | null>;
  /** Writes `value` under `key`; `expirationTtl` (seconds, at least 60 on Workers KV) makes it expire. */
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  /** Removes `key` (no error when it does not exist). */
  delete(key: string): Promise<void>;
}

/**
 * A `HeadStore` over a Workers KV namespace.
 *
 * @example
 * ```ts ignore
 * import { WorkersKvHeadStore } from "./workers_kv.ts";
 * export default {
 *   async fetch(req: Request, env: { TENANT_KV: KVNamespace }) {
 *     const doc = await new WorkersKvHeadStore(env.TENANT_KV).get("shop.example.com");
 *     return Response.json(doc);
 *   },
 * };
 * ```
 */
export class WorkersKvHeadStore implements HeadStore {
  readonly kind = "workers-kv";
  #kv: KVNamespace;

  /**
   * Wraps a KV namespace binding.
   *
   * @param kv The KV namespace binding.
   * @throws {TypeError} when `kv` is not a KV namespace (an unbound `TENANT_KV`).
   */
  constructor(kv: KVNamespace) {
    if (kv === null || typeof kv !== "object" || typeof kv.get !== "function") {
      throw new TypeError("WorkersKvHeadStore: expected a KV namespace binding (is TENANT_KV bound?)");
    }
    this.#kv = kv;
  }

  /** Reads and checks `head/<tenant>`: the tenant's active head, or `null` when it has none. */
  async get(tenant: string): Promise<StoredHead | null> {
    const text = await this.#kv.get(activeHeadKey(assertTenantId(tenant)), "text");
    return text === null ? null : parseStoredHead(JSON.parse(text));
  }

  /** Checks `doc` and writes it, as JSON text, to `head/<tenant>`: the tenant's active head. */
  async put(tenant: string, doc: StoredHead): Promise<void> {
    await this.#kv.put(activeHeadKey(assertTenantId(tenant)), JSON.stringify(parseStoredHead(doc)));
  }

  /** Deletes `head/<tenant>`: the global head scores the tenant's requests again. */
  async delete(tenant: string): Promise<void> {
    await this.#kv.delete(activeHeadKey(assertTenantId(tenant)));
  }
}
