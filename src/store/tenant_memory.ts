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
import { collectShards, type LearnEpoch, type LearnStore, parseEpoch } from "../learn/store.ts";
import { parseShard } from "../learn/shard.ts";

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
  readonly learning: LearnStore;
  #active = new Map<string, string>();
  #history = new Map<string, Map<number, string>>();
  #tokens = new Map<string, string>();

  /**
   * Creates an empty store; `heads` and `learning` share its maps.
   *
   * @param now Clock in ms, for shards' expiry (tests; default `Date.now`).
   */
  constructor(now: () => number = Date.now) {
    const active = this.#active;
    // tenant → shard id → [text, expires at]
    const shards = new Map<string, Map<string, [string, number]>>();
    const epochs = new Map<string, string>();
    this.learning = {
      putShard: (tenant, doc, ttlSeconds) =>
        settle(() => {
          const t = assertTenantId(tenant), d = parseShard(doc);
          let m = shards.get(t);
          if (!m) shards.set(t, m = new Map());
          m.set(d.shard, [JSON.stringify(d), now() + ttlSeconds * 1000]);
        }),
      shards: (tenant) =>
        settle(() => {
          const m = shards.get(assertTenantId(tenant));
          const t = now(), live: string[] = [];
          for (const [id, [text, expires]] of m ?? []) {
            if (expires > t) live.push(text);
            else m!.delete(id);
          }
          return collectShards(tenant, live);
        }),
      clearShards: (tenant) =>
        settle(() => {
          const m = shards.get(assertTenantId(tenant));
          shards.delete(tenant);
          return m?.size ?? 0;
        }),
      getEpoch: (tenant) =>
        settle(() => {
          const text = epochs.get(assertTenantId(tenant));
          return text === undefined ? null : parseEpoch(JSON.parse(text));
        }),
      putEpoch: (tenant, e: LearnEpoch) =>
        settle(() => void epochs.set(assertTenantId(tenant), JSON.stringify(parseEpoch(e)))),
    };
    this.heads = {
      kind: "memory",
      get: (tenant) => settle(() => parseText(active.get(assertTenantId(tenant)))),
      put: (tenant, doc) =>
        settle(() => void active.set(assertTenantId(tenant), JSON.stringify(parseStoredHead(doc)))),
      delete: (tenant) => settle(() => void active.delete(assertTenantId(tenant))),
    };
  }

  /** The tenant's active head; its stamp is the document's JSON text (`null` without a head). */
  read(tenant: string): Promise<TenantSnapshot> {
    return settle(() => {
      const text = this.#active.get(assertTenantId(tenant));
      return { active: parseText(text), stamp: text ?? null };
    });
  }

  /** Every version in the tenant's history, oldest first (copies, checked). */
  history(tenant: string): Promise<StoredHead[]> {
    return settle(() => {
      const h = this.#history.get(assertTenantId(tenant));
      if (!h) return [];
      return [...h.keys()].sort((a, b) => a - b).map((v) => parseText(h.get(v))!);
    });
  }

  /**
   * Applies a change at once if the active head is still the one `stamp` was read with; every document is
   * checked before anything is written.
   *
   * @returns `false` (nothing written) when the active head changed since `read`.
   */
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

  /** The token record with this id (a copy, checked), or `null` when there is none. */
  getToken(id: string): Promise<TokenRecord | null> {
    return settle(() => {
      const text = this.#tokens.get(assertTokenId(id));
      return text === undefined ? null : parseTokenRecord(JSON.parse(text));
    });
  }

  /** Checks `record` and keeps a copy of it under `id`. */
  putToken(id: string, record: TokenRecord): Promise<void> {
    return settle(() => void this.#tokens.set(assertTokenId(id), JSON.stringify(parseTokenRecord(record))));
  }

  /** Forgets the token record with this id: the token no longer authenticates. */
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
