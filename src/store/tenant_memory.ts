/**
 * A `TenantStore` in memory (tests, a single process). Every commit runs synchronously, so it is atomic.
 *
 * @module
 */
import { parseStoredHead, type StoredHead } from "./head_doc.ts";
import { assertTenantId } from "./tenant_id.ts";
import {
  assertTokenId,
  parseTokenRecord,
  type TenantChange,
  type TenantSnapshot,
  type TenantStore,
  type TokenRecord,
} from "./tenant_store.ts";
import type { HeadStore } from "./types.ts";

/**
 * A `TenantStore` kept in `Map`s, as JSON text (callers never share objects with it).
 *
 * @example
 * ```ts
 * import { MemoryTenantStore } from "./tenant_memory.ts";
 * const store = new MemoryTenantStore();
 * const { active } = await store.read("shop-1"); // null
 * ```
 */
export class MemoryTenantStore implements TenantStore {
  readonly kind = "memory";
  readonly atomic = true;
  readonly heads: HeadStore;
  #active = new Map<string, string>();
  #history = new Map<string, Map<number, string>>();
  #tokens = new Map<string, string>();

  constructor() {
    const active = this.#active;
    this.heads = {
      kind: "memory",
      get: (tenant) => settle(() => parseText(active.get(assertTenantId(tenant)))),
      put: (tenant, doc) =>
        settle(() => void active.set(assertTenantId(tenant), JSON.stringify(parseStoredHead(doc)))),
      delete: (tenant) => settle(() => void active.delete(assertTenantId(tenant))),
    };
  }

  /** @inheritdoc */
  read(tenant: string): Promise<TenantSnapshot> {
    return settle(() => {
      const text = this.#active.get(assertTenantId(tenant));
      return { active: parseText(text), stamp: text ?? null };
    });
  }

  /** @inheritdoc */
  history(tenant: string): Promise<StoredHead[]> {
    return settle(() => {
      const h = this.#history.get(assertTenantId(tenant));
      if (!h) return [];
      return [...h.keys()].sort((a, b) => a - b).map((v) => parseText(h.get(v))!);
    });
  }

  /** @inheritdoc */
  commit(tenant: string, change: TenantChange, stamp: string | null): Promise<boolean> {
    return settle(() => {
      assertTenantId(tenant);
      if ((this.#active.get(tenant) ?? null) !== stamp) return false;
      // Everything is checked before anything is written: a bad document changes nothing.
      const put = change.putHistory ? JSON.stringify(parseStoredHead(change.putHistory)) : undefined;
      const active = change.active ? JSON.stringify(parseStoredHead(change.active)) : change.active;
      let h = this.#history.get(tenant);
      if (put !== undefined) {
        if (!h) this.#history.set(tenant, h = new Map());
        h.set(change.putHistory!.version, put);
      }
      for (const v of change.deleteHistory ?? []) h?.delete(v);
      if (h && h.size === 0) this.#history.delete(tenant);
      if (active === null) this.#active.delete(tenant);
      else if (active !== undefined) this.#active.set(tenant, active);
      return true;
    });
  }

  /** @inheritdoc */
  getToken(id: string): Promise<TokenRecord | null> {
    return settle(() => {
      const text = this.#tokens.get(assertTokenId(id));
      return text === undefined ? null : parseTokenRecord(JSON.parse(text));
    });
  }

  /** @inheritdoc */
  putToken(id: string, record: TokenRecord): Promise<void> {
    return settle(() => void this.#tokens.set(assertTokenId(id), JSON.stringify(parseTokenRecord(record))));
  }

  /** @inheritdoc */
  deleteToken(id: string): Promise<void> {
    return settle(() => void this.#tokens.delete(assertTokenId(id)));
  }
}

function parseText(text: string | undefined): StoredHead | null {
  return text === undefined ? null : parseStoredHead(JSON.parse(text));
}

function settle<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (err) {
    return Promise.reject(err);
  }
}
