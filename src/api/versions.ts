/**
 * Versions of a tenant's head: publishing a fitted head, rolling back to the previous version, removing
 * the head. Within an isolate, changes of one tenant run one at a time; across isolates, atomic stores
 * (Deno KV, memory) refuse a change made on a stale read and it is retried, and on Workers KV each write is
 * one whole document (see `TenantStore`). Either way the active head is always one complete version.
 *
 * Versions are `max(previous, now in ms × 1000) + 1 + a random 0..65535`: increasing for a tenant, and two
 * uploads racing in different isolates (Workers KV, no compare-and-set) get different versions but for a
 * 1-in-65,536 chance, so neither overwrites the other's history.
 *
 * @module
 */
import type { StoredHead } from "../store/head_doc.ts";
import type { TenantStore } from "../store/tenant_store.ts";
import { ApiError } from "./errors.ts";

/** Attempts of a change that keeps meeting concurrent changes before the API answers 409. */
const ATTEMPTS = 5;

/** Runs tasks of one key one at a time (per isolate). */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<unknown>>();

  /**
   * Runs `task` after every task of `key` started before it.
   *
   * @param key The key (a tenant id).
   * @param task The task.
   * @returns Its result.
   */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve();
    const result = before.then(task, task);
    const tail = result.catch(() => {});
    this.#tails.set(key, tail);
    tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}

/** What the version functions need. */
export interface VersionContext {
  /** Where the heads, their history and the stamps live. */
  store: TenantStore;
  /** Serialises this isolate's changes per tenant (the store's stamps guard against other isolates). */
  lock: KeyedLock;
  /** Versions kept, the active one included. */
  keep: number;
  /** Clock in ms. */
  now: () => number;
}

/** A fitted head before it has a version. */
export type Unversioned = Omit<StoredHead, "version" | "createdAt">;

/**
 * The next version after `previous`.
 *
 * @param previous The active version (0 for none).
 * @param nowMs The time in ms.
 * @returns A safe integer greater than `previous`.
 */
export function nextVersion(previous: number, nowMs: number): number {
  const r = crypto.getRandomValues(new Uint16Array(1))[0];
  return Math.max(previous, Math.floor(nowMs) * 1000) + 1 + r;
}

async function retrying<T>(
  tenant: string,
  ctx: VersionContext,
  attempt: () => Promise<T | null>,
): Promise<T> {
  return await ctx.lock.run(tenant, async () => {
    for (let i = 0; i < ATTEMPTS; i++) {
      const out = await attempt();
      if (out !== null) return out;
    }
    throw new ApiError(409, "conflict", "the tenant's head kept changing during this request: try again");
  });
}

/**
 * Stores a fitted head as the tenant's new active version, and prunes the history to the newest `keep`.
 *
 * @param ctx Store, lock, history length, clock.
 * @param tenant The tenant.
 * @param fitted The document without version and time.
 * @returns The stored document and the version it replaced (or `null`).
 */
export function publishHead(
  ctx: VersionContext,
  tenant: string,
  fitted: Unversioned,
): Promise<{ doc: StoredHead; previous: number | null }> {
  return retrying(tenant, ctx, async () => {
    const { active, stamp } = await ctx.store.read(tenant);
    const history = await ctx.store.history(tenant);
    const now = ctx.now();
    const doc = {
      ...fitted,
      version: nextVersion(active?.version ?? 0, now),
      createdAt: new Date(now).toISOString(),
    } as StoredHead;
    const versions = [...history.map((d) => d.version), doc.version].sort((a, b) => b - a);
    const deleteHistory = versions.slice(ctx.keep).filter((v) => v !== doc.version);
    const ok = await ctx.store.commit(tenant, { active: doc, putHistory: doc, deleteHistory }, stamp);
    return ok ? { doc, previous: active?.version ?? null } : null;
  });
}

/**
 * Makes the version before the active one active again, and drops every newer version from the history.
 *
 * @param ctx Store, lock, clock.
 * @param tenant The tenant.
 * @returns The active document now and the version rolled back from.
 * @throws {ApiError} 404 without a head; 409 when there is no earlier version.
 */
export function rollbackHead(
  ctx: VersionContext,
  tenant: string,
): Promise<{ doc: StoredHead; from: number }> {
  return retrying(tenant, ctx, async () => {
    const { active, stamp } = await ctx.store.read(tenant);
    if (active === null) throw new ApiError(404, "no_head", `tenant ${tenant} has no head of its own`);
    const history = await ctx.store.history(tenant);
    const earlier = history.filter((d) => d.version < active.version);
    if (earlier.length === 0) {
      throw new ApiError(
        409,
        "no_previous_version",
        `version ${active.version} is the oldest kept: DELETE the head to go back to the global head`,
      );
    }
    const doc = earlier[earlier.length - 1];
    const deleteHistory = history.filter((d) => d.version > doc.version).map((d) => d.version);
    if (!deleteHistory.includes(active.version)) deleteHistory.push(active.version);
    const ok = await ctx.store.commit(tenant, { active: doc, deleteHistory }, stamp);
    return ok ? { doc, from: active.version } : null;
  });
}

/**
 * Removes the tenant's head and its history: the global head scores its requests again.
 *
 * @param ctx Store, lock.
 * @param tenant The tenant.
 * @returns The version removed (or `null` when only history was left) and the versions removed in all.
 * @throws {ApiError} 404 when there was nothing to remove.
 */
export function removeHead(
  ctx: VersionContext,
  tenant: string,
): Promise<{ removed: number | null; versions: number[] }> {
  return retrying(tenant, ctx, async () => {
    const { active, stamp } = await ctx.store.read(tenant);
    const history = await ctx.store.history(tenant);
    if (active === null && history.length === 0) {
      throw new ApiError(404, "no_head", `tenant ${tenant} has no head of its own`);
    }
    const versions = history.map((d) => d.version);
    if (active !== null && !versions.includes(active.version)) versions.push(active.version);
    const ok = await ctx.store.commit(tenant, { active: null, deleteHistory: versions }, stamp);
    return ok ? { removed: active?.version ?? null, versions: versions.sort((a, b) => a - b) } : null;
  });
}
