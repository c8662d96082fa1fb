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
  get(key: string, type: "text"): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
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

  /** @param kv The KV namespace binding. */
  constructor(kv: KVNamespace) {
    if (kv === null || typeof kv !== "object" || typeof kv.get !== "function") {
      throw new TypeError("WorkersKvHeadStore: expected a KV namespace binding (is TENANT_KV bound?)");
    }
    this.#kv = kv;
  }

  /** @inheritdoc */
  async get(tenant: string): Promise<StoredHead | null> {
    const text = await this.#kv.get(activeHeadKey(assertTenantId(tenant)), "text");
    return text === null ? null : parseStoredHead(JSON.parse(text));
  }

  /** @inheritdoc */
  async put(tenant: string, doc: StoredHead): Promise<void> {
    await this.#kv.put(activeHeadKey(assertTenantId(tenant)), JSON.stringify(parseStoredHead(doc)));
  }

  /** @inheritdoc */
  async delete(tenant: string): Promise<void> {
    await this.#kv.delete(activeHeadKey(assertTenantId(tenant)));
  }
}
