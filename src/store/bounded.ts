/**
 * A time bound on every call of a `TenantStore`: a storage call that hangs rejects with
 * `StoreTimeoutError` after the bound instead of holding its request (and, in the tenant API, every later
 * change of that tenant queued behind it) forever.
 *
 * The call itself is not cancelled (storage APIs cannot be): a write that lands after its bound is still
 * one whole commit (atomic stores) or one whole document (Workers KV), never half of one.
 *
 * @module
 */
import type { TenantStore } from "./tenant_store.ts";
import type { HeadStore } from "./types.ts";
import type { LearnStore } from "../learn/store.ts";
import { withTimeout } from "../util/timeout.ts";

/** Default bound on one storage call of the tenant API, in ms. */
export const DEFAULT_STORE_TIMEOUT_MS = 5_000;

/** A storage call took longer than its bound. */
export class StoreTimeoutError extends Error {
  /**
   * @param call The method.
   * @param ms The bound.
   */
  constructor(call: string, ms: number) {
    super(`${call} got no answer within ${ms} ms (a write may still land)`);
    this.name = "StoreTimeoutError";
  }
}

function bound<T>(p: Promise<T>, call: string, ms: number): Promise<T> {
  return withTimeout(p, ms, () => new StoreTimeoutError(call, ms));
}

/**
 * Wraps a tenant store so that no call waits longer than `ms`.
 *
 * @param store The store.
 * @param ms The bound per call, in ms (> 0).
 * @returns A `TenantStore` with the same kind, atomicity and data; its `heads` is bounded too.
 * @throws {RangeError} for a bound that is not a positive finite number.
 * @example
 * ```ts
 * import { boundedTenantStore } from "./bounded.ts";
 * import { MemoryTenantStore } from "./tenant_memory.ts";
 * const store = boundedTenantStore(new MemoryTenantStore(), 2_000);
 * console.log((await store.read("shop-1")).active); // null
 * ```
 */
export function boundedTenantStore(store: TenantStore, ms: number): TenantStore {
  if (!(typeof ms === "number" && Number.isFinite(ms) && ms > 0)) {
    throw new RangeError(`boundedTenantStore: the bound must be a positive number of ms, got ${String(ms)}`);
  }
  const heads: HeadStore = {
    kind: store.heads.kind,
    get: (tenant) => bound(store.heads.get(tenant), "heads.get", ms),
    put: (tenant, doc) => bound(store.heads.put(tenant, doc), "heads.put", ms),
    delete: (tenant) => bound(store.heads.delete(tenant), "heads.delete", ms),
  };
  const l = store.learning;
  const learning: LearnStore = {
    putShard: (tenant, doc, ttl) => bound(l.putShard(tenant, doc, ttl), "learning.putShard", ms),
    shards: (tenant) => bound(l.shards(tenant), "learning.shards", ms),
    clearShards: (tenant) => bound(l.clearShards(tenant), "learning.clearShards", ms),
    getEpoch: (tenant) => bound(l.getEpoch(tenant), "learning.getEpoch", ms),
    putEpoch: (tenant, e) => bound(l.putEpoch(tenant, e), "learning.putEpoch", ms),
  };
  return {
    kind: store.kind,
    atomic: store.atomic,
    heads,
    learning,
    read: (tenant) => bound(store.read(tenant), "read", ms),
    history: (tenant) => bound(store.history(tenant), "history", ms),
    commit: (tenant, change, stamp) => bound(store.commit(tenant, change, stamp), "commit", ms),
    getToken: (id) => bound(store.getToken(id), "getToken", ms),
    putToken: (id, record) => bound(store.putToken(id, record), "putToken", ms),
    deleteToken: (id) => bound(store.deleteToken(id), "deleteToken", ms),
  };
}
