/**
 * A `TenantStore` on Deno KV. Needs `--unstable-kv`. Each commit is one `atomic()` operation checked
 * against the active head's versionstamp: two writers for one tenant never both succeed.
 *
 * Keys: `["taugate", "head", <tenant>]` (the active head, shared with `DenoKvHeadStore`),
 * `["taugate", "history", <tenant>, <version>]`, `["taugate", "token", <id>]`.
 *
 * @module
 */
import { denoActiveHeadKey, denoHistoryHeadKey, DenoKvHeadStore } from "./deno_kv.ts";
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
import { type LearnShard, parseShard } from "../learn/shard.ts";

/** The Deno KV key of a token record. */
export function denoTokenKey(id: string): Deno.KvKey {
  return ["taugate", "token", id];
}

/**
 * A `TenantStore` over an open `Deno.Kv`. The caller owns the handle (and closes it).
 *
 * @example
 * ```ts ignore
 * import { DenoKvTenantStore } from "./tenant_deno_kv.ts";
 * const store = new DenoKvTenantStore(await Deno.openKv(".taugate/kv.sqlite3"));
 * console.log((await store.history("shop.example.com")).map((d) => d.version));
 * ```
 */
export class DenoKvTenantStore implements TenantStore {
  readonly kind = "deno-kv";
  readonly atomic = true;
  readonly heads: HeadStore;
  readonly learning: LearnStore;
  #kv: Deno.Kv;

  /**
   * Wraps an open Deno KV handle (the caller closes it); `heads` and `learning` use the same handle.
   *
   * @param kv An open Deno KV handle.
   */
  constructor(kv: Deno.Kv) {
    this.#kv = kv;
    this.heads = new DenoKvHeadStore(kv);
    const shardKey = (tenant: string, id: string): Deno.KvKey => ["taugate", "learn", tenant, "shard", id];
    const epochKey = (tenant: string): Deno.KvKey => ["taugate", "learn", tenant, "epoch"];
    this.learning = {
      putShard: async (tenant: string, doc: LearnShard, ttlSeconds: number) => {
        const d = parseShard(doc);
        await kv.set(shardKey(assertTenantId(tenant), d.shard), d, { expireIn: ttlSeconds * 1000 });
      },
      shards: async (tenant: string) => {
        const values: unknown[] = [];
        const prefix = ["taugate", "learn", assertTenantId(tenant), "shard"];
        for await (const e of kv.list({ prefix }, { limit: 10_000 })) values.push(e.value);
        return collectShards(tenant, values);
      },
      clearShards: async (tenant: string) => {
        const prefix = ["taugate", "learn", assertTenantId(tenant), "shard"];
        let n = 0;
        for await (const e of kv.list({ prefix }, { limit: 10_000 })) {
          await kv.delete(e.key);
          n++;
        }
        return n;
      },
      getEpoch: async (tenant: string) => {
        const e = await kv.get(epochKey(assertTenantId(tenant)));
        return e.value === null ? null : parseEpoch(e.value);
      },
      putEpoch: async (tenant: string, e: LearnEpoch) => {
        await kv.set(epochKey(assertTenantId(tenant)), parseEpoch(e));
      },
    };
  }

  /** The tenant's active head; its stamp is the entry's versionstamp (`null` without a head). */
  async read(tenant: string): Promise<TenantSnapshot> {
    const e = await this.#kv.get(denoActiveHeadKey(assertTenantId(tenant)));
    return { active: e.value === null ? null : parseStoredHead(e.value), stamp: e.versionstamp };
  }

  /** Every version under `["taugate", "history", <tenant>]`, checked, oldest first. */
  async history(tenant: string): Promise<StoredHead[]> {
    const out: StoredHead[] = [];
    const prefix = ["taugate", "history", assertTenantId(tenant)];
    for await (const e of this.#kv.list({ prefix })) out.push(parseStoredHead(e.value));
    return out.sort((a, b) => a.version - b.version);
  }

  /**
   * Applies a change in one `atomic()` operation, checked against the active head's versionstamp.
   *
   * @returns `false` (nothing written) when the active head changed since `read`, or when another process
   *   holds the SQLite file's write lock.
   */
  async commit(tenant: string, change: TenantChange, stamp: string | null): Promise<boolean> {
    const key = denoActiveHeadKey(assertTenantId(tenant));
    const op = this.#kv.atomic().check({ key, versionstamp: stamp });
    if (change.putHistory) {
      const doc = parseStoredHead(change.putHistory);
      op.set(denoHistoryHeadKey(tenant, doc.version), doc);
    }
    for (const v of change.deleteHistory ?? []) op.delete(denoHistoryHeadKey(tenant, v));
    if (change.active === null) op.delete(key);
    else if (change.active !== undefined) op.set(key, parseStoredHead(change.active));
    try {
      return (await op.commit()).ok;
    } catch (err) {
      // Another process holds the local SQLite file's write lock (two processes on one `TAUGATE_KV_PATH`):
      // nothing was written, so this is a conflict like a failed check, and the caller re-reads and retries.
      if (err instanceof Error && err.message.toLowerCase().includes("database is locked")) return false;
      throw err;
    }
  }

  /** The token record at `["taugate", "token", <id>]`, checked, or `null` when there is none. */
  async getToken(id: string): Promise<TokenRecord | null> {
    const e = await this.#kv.get(denoTokenKey(assertTokenId(id)));
    return e.value === null ? null : parseTokenRecord(e.value);
  }

  /** Checks `record` and sets it at `["taugate", "token", <id>]`. */
  async putToken(id: string, record: TokenRecord): Promise<void> {
    await this.#kv.set(denoTokenKey(assertTokenId(id)), parseTokenRecord(record));
  }

  /** Deletes `["taugate", "token", <id>]`: the token no longer authenticates. */
  async deleteToken(id: string): Promise<void> {
    await this.#kv.delete(denoTokenKey(assertTokenId(id)));
  }
}
