/**
 * A `TenantStore` on Cloudflare Workers KV (the binding `TENANT_KV`). Workers KV has no transactions and
 * no compare-and-set: a commit writes the new version under its own history key first, then the active
 * head (the whole document in one `put`, so a reader sees the old head or the new one, never a mix), then
 * removes pruned versions. Two concurrent commits for one tenant both land; the last `put` of the active
 * key wins.
 *
 * Keys: `head/<tenant>` (shared with `WorkersKvHeadStore`), `history/<tenant>/<version>`, `token/<id>`.
 *
 * @module
 */
import { parseStoredHead, type StoredHead } from "./head_doc.ts";
import { assertTenantId } from "./tenant_id.ts";
import {
  assertTokenId,
  historyPrefix,
  parseTokenRecord,
  type TenantChange,
  type TenantSnapshot,
  type TenantStore,
  tokenKey,
  type TokenRecord,
} from "./tenant_store.ts";
import { activeHeadKey, type HeadStore, historyHeadKey } from "./types.ts";
import { type KVNamespace, WorkersKvHeadStore } from "./workers_kv.ts";
import {
  collectShards,
  epochKey,
  type LearnEpoch,
  type LearnStore,
  parseEpoch,
  shardPrefix,
} from "../learn/store.ts";
import { type LearnShard, parseShard } from "../learn/shard.ts";

/** The part of Workers KV's binding the tenant store uses: the head store's methods and `list`. */
export interface ListableKVNamespace extends KVNamespace {
  /**
   * One page of the keys starting with `prefix` (at most `limit`, 1 000 by default on Workers KV); `cursor`
   * continues a listing whose last page had `list_complete: false`.
   */
  list(options?: { prefix?: string; cursor?: string | null; limit?: number }): Promise<{
    keys: { name: string }[];
    list_complete: boolean;
    cursor?: string;
  }>;
}

/**
 * A `TenantStore` over a Workers KV namespace.
 *
 * @example
 * ```ts ignore
 * import { WorkersKvTenantStore } from "./tenant_workers_kv.ts";
 * export default {
 *   async fetch(_req: Request, env: { TENANT_KV: ListableKVNamespace }) {
 *     const store = new WorkersKvTenantStore(env.TENANT_KV);
 *     return Response.json((await store.history("shop.example.com")).map((d) => d.version));
 *   },
 * };
 * ```
 */
export class WorkersKvTenantStore implements TenantStore {
  readonly kind = "workers-kv";
  readonly atomic = false;
  readonly heads: HeadStore;
  readonly learning: LearnStore;
  #kv: ListableKVNamespace;

  /**
   * Wraps a KV namespace binding; `heads` and `learning` use the same namespace.
   *
   * @param kv The KV namespace binding.
   * @throws {TypeError} when it is not one.
   */
  constructor(kv: ListableKVNamespace) {
    if (kv === null || typeof kv !== "object" || typeof kv.list !== "function") {
      throw new TypeError("WorkersKvTenantStore: expected a KV namespace binding (is TENANT_KV bound?)");
    }
    this.#kv = kv;
    this.heads = new WorkersKvHeadStore(kv);
    const listKeys = async (prefix: string): Promise<string[]> => {
      const names: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 20; page++) {
        const r = await kv.list({ prefix, cursor });
        for (const k of r.keys) names.push(k.name);
        if (r.list_complete || !r.cursor) break;
        cursor = r.cursor;
      }
      return names;
    };
    this.learning = {
      putShard: async (tenant: string, doc: LearnShard, ttlSeconds: number) => {
        const d = parseShard(doc);
        // Workers KV's shortest expiry is 60 s.
        await kv.put(shardPrefix(assertTenantId(tenant)) + d.shard, JSON.stringify(d), {
          expirationTtl: Math.max(60, Math.ceil(ttlSeconds)),
        });
      },
      shards: async (tenant: string) => {
        const names = await listKeys(shardPrefix(assertTenantId(tenant)));
        return collectShards(tenant, await Promise.all(names.map((n) => kv.get(n, "text"))));
      },
      clearShards: async (tenant: string) => {
        const names = await listKeys(shardPrefix(assertTenantId(tenant)));
        await Promise.all(names.map((n) => kv.delete(n)));
        return names.length;
      },
      getEpoch: async (tenant: string) => {
        const text = await kv.get(epochKey(assertTenantId(tenant)), "text");
        return text === null ? null : parseEpoch(JSON.parse(text));
      },
      putEpoch: async (tenant: string, e: LearnEpoch) => {
        await kv.put(epochKey(assertTenantId(tenant)), JSON.stringify(parseEpoch(e)));
      },
    };
  }

  /** The tenant's active head (`head/<tenant>`); the stamp is always `null` (no compare-and-set on KV). */
  async read(tenant: string): Promise<TenantSnapshot> {
    const text = await this.#kv.get(activeHeadKey(assertTenantId(tenant)), "text");
    return { active: text === null ? null : parseStoredHead(JSON.parse(text)), stamp: null };
  }

  /**
   * Every version under `history/<tenant>/`, oldest first. KV's listing is eventually consistent: a version
   * written or deleted moments ago may be missing or still listed.
   */
  async history(tenant: string): Promise<StoredHead[]> {
    const prefix = historyPrefix(assertTenantId(tenant));
    const versions: number[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const r = await this.#kv.list({ prefix, cursor });
      for (const k of r.keys) {
        const v = Number(k.name.slice(prefix.length));
        if (Number.isSafeInteger(v) && v > 0) versions.push(v);
      }
      if (r.list_complete || !r.cursor) break;
      cursor = r.cursor;
    }
    const docs = await Promise.all(versions.map((v) => this.#kv.get(historyHeadKey(tenant, v), "text")));
    const out: StoredHead[] = [];
    // A key listed but already gone (KV's listing lags behind deletions) is skipped.
    for (const text of docs) if (text !== null) out.push(parseStoredHead(JSON.parse(text)));
    return out.sort((a, b) => a.version - b.version);
  }

  /**
   * Applies a change without a transaction: the history version first, then the active head, then the
   * deletions, each one `put` or `delete`. The stamp is ignored.
   *
   * @returns Always `true`.
   */
  async commit(tenant: string, change: TenantChange, _stamp: string | null): Promise<boolean> {
    assertTenantId(tenant);
    const history = change.putHistory ? JSON.stringify(parseStoredHead(change.putHistory)) : undefined;
    const active = change.active ? JSON.stringify(parseStoredHead(change.active)) : change.active;
    // History first: once the active head names a version, that version can be rolled back to.
    if (history !== undefined) {
      await this.#kv.put(historyHeadKey(tenant, change.putHistory!.version), history);
    }
    if (active === null) await this.#kv.delete(activeHeadKey(tenant));
    else if (active !== undefined) await this.#kv.put(activeHeadKey(tenant), active);
    await Promise.all((change.deleteHistory ?? []).map((v) => this.#kv.delete(historyHeadKey(tenant, v))));
    return true;
  }

  /** The token record under `token/<id>`, checked, or `null` when there is none. */
  async getToken(id: string): Promise<TokenRecord | null> {
    const text = await this.#kv.get(tokenKey(assertTokenId(id)), "text");
    return text === null ? null : parseTokenRecord(JSON.parse(text));
  }

  /** Checks `record` and writes it under `token/<id>`. */
  async putToken(id: string, record: TokenRecord): Promise<void> {
    await this.#kv.put(tokenKey(assertTokenId(id)), JSON.stringify(parseTokenRecord(record)));
  }

  /** Deletes `token/<id>`: the token no longer authenticates. */
  async deleteToken(id: string): Promise<void> {
    await this.#kv.delete(tokenKey(assertTokenId(id)));
  }
}
