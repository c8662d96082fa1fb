/**
 * A `HeadStore` in memory: for tests, for a single process, and as the default when no KV is configured.
 *
 * @module
 */
import { parseStoredHead, type StoredHead } from "./head_doc.ts";
import { assertTenantId } from "./tenant_id.ts";
import type { HeadStore } from "./types.ts";

/**
 * A `HeadStore` kept in a `Map` (documents are stored as JSON text, so callers never share objects with it).
 *
 * @example
 * ```ts
 * import { MemoryHeadStore } from "./memory.ts";
 * const store = new MemoryHeadStore();
 * await store.put("shop-1", { version: 1, head: { w: [0.5, -0.5], b: 0 }, createdAt: new Date().toISOString() });
 * console.log((await store.get("shop-1"))?.version); // 1
 * ```
 */
export class MemoryHeadStore implements HeadStore {
  readonly kind = "memory";
  #docs = new Map<string, string>();

  /** The tenant's active head (a fresh copy, checked), or `null` when it has none. */
  get(tenant: string): Promise<StoredHead | null> {
    return settle(() => {
      const text = this.#docs.get(assertTenantId(tenant));
      return text === undefined ? null : parseStoredHead(JSON.parse(text));
    });
  }

  /** Checks `doc` and keeps a copy of it as the tenant's active head. */
  put(tenant: string, doc: StoredHead): Promise<void> {
    return settle(() => void this.#docs.set(assertTenantId(tenant), JSON.stringify(parseStoredHead(doc))));
  }

  /** Forgets the tenant's active head: the global head scores its requests again. */
  delete(tenant: string): Promise<void> {
    return settle(() => void this.#docs.delete(assertTenantId(tenant)));
  }
}

/** Runs `f` and reports its result or its error through a promise, like the KV stores. */
function settle<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (err) {
    return Promise.reject(err);
  }
}
