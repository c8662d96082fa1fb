/**
 * The in-isolate head cache that keeps KV off the hot path: fresh entries answer synchronously, a miss
 * costs one store read (shared by every request of that tenant waiting for it), absent heads are cached
 * too (negative caching), and a read that hangs longer than the timeout leaves the request to the global
 * head while the read goes on to fill the cache.
 *
 * @module
 */
import { parseStoredHead, type TenantHead, tenantHeadOf } from "./head_doc.ts";
import type { HeadStore } from "./types.ts";

/** What the cache knows about a tenant. */
export type HeadLookup =
  /** The tenant has a head. */
  | { status: "tenant"; head: TenantHead }
  /** The tenant has no head (the global head applies). */
  | { status: "none" }
  /** The store failed, hung or held a corrupt document (the global head applies; a header says so). */
  | { status: "error"; reason: string };

/** Options of `HeadCache`. */
export interface HeadCacheOptions {
  /** How long a found head is used before it is read again, in ms (default 60 000). */
  ttlMs?: number;
  /** How long "no head" is remembered, in ms (default 10 000). */
  negativeTtlMs?: number;
  /** How long a failure is remembered, so a failing store is not hammered, in ms (default 1 000). */
  errorTtlMs?: number;
  /** How long a request waits for a store read, in ms (default 100). */
  timeoutMs?: number;
  /** Tenants kept; the oldest entry goes first when full (default 10 000). */
  maxEntries?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

interface Entry {
  lookup: HeadLookup;
  expires: number;
}

const NONE: HeadLookup = Object.freeze({ status: "none" });
/** After this long a pending read is presumed lost and the next lookup starts another. */
const STUCK_READ_MS = 30_000;

function nonNegative(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new RangeError(`HeadCache: ${name} must be a finite number >= 0, got ${String(v)}`);
  }
  return v;
}

/**
 * A TTL cache of tenant heads in front of a `HeadStore`.
 *
 * @example
 * ```ts
 * import { HeadCache } from "./cached.ts";
 * import { MemoryHeadStore } from "./memory.ts";
 * const cache = new HeadCache(new MemoryHeadStore(), { ttlMs: 30_000 });
 * const found = await cache.lookup("shop-1"); // { status: "none" }: no head stored
 * ```
 */
export class HeadCache {
  /** The store behind the cache. */
  readonly store: HeadStore;
  readonly #ttl: number;
  readonly #negativeTtl: number;
  readonly #errorTtl: number;
  readonly #timeout: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, { read: Promise<HeadLookup>; started: number }>();
  /** Bumped by `invalidate`: a read started before it must not fill the cache with what it read. */
  #epoch = 0;

  /**
   * Creates an empty cache in front of `store`.
   *
   * @param store The store to read from.
   * @param options TTLs, timeout, size.
   * @throws {RangeError} for a bad option (named).
   */
  constructor(store: HeadStore, options: HeadCacheOptions = {}) {
    if (store === null || typeof store !== "object" || typeof store.get !== "function") {
      throw new TypeError("HeadCache: store must be a HeadStore");
    }
    this.store = store;
    this.#ttl = nonNegative("ttlMs", options.ttlMs, 60_000);
    this.#negativeTtl = nonNegative("negativeTtlMs", options.negativeTtlMs, 10_000);
    this.#errorTtl = nonNegative("errorTtlMs", options.errorTtlMs, 1_000);
    this.#timeout = nonNegative("timeoutMs", options.timeoutMs, 100);
    this.#max = Math.max(1, Math.floor(nonNegative("maxEntries", options.maxEntries, 10_000)));
    this.#now = options.now ?? Date.now;
  }

  /**
   * The tenant's head: synchronously when the cache has a fresh entry, else after one store read (or the
   * timeout). Never rejects: failures come back as `{ status: "error" }`.
   *
   * @param tenant A valid tenant id (the store checks it; an invalid one is an `error` lookup).
   * @param waitUntil Keeps a read this call starts alive after the request that started it has answered
   *   (a Worker's `ctx.waitUntil`): on workerd, I/O left pending when its request ends is cancelled, and the
   *   read is shared with later requests of the tenant.
   */
  lookup(tenant: string, waitUntil?: (p: Promise<unknown>) => void): HeadLookup | Promise<HeadLookup> {
    const e = this.#entries.get(tenant);
    const now = this.#now();
    if (e !== undefined && e.expires > now) return e.lookup;
    let flight = this.#inflight.get(tenant);
    // A read that never settled (its request was cancelled) must not stall the tenant for good.
    if (flight === undefined || now - flight.started > STUCK_READ_MS) {
      const started = { read: this.#read(tenant), started: now };
      started.read.then(() => {
        if (this.#inflight.get(tenant) === started) this.#inflight.delete(tenant);
      });
      this.#inflight.set(tenant, flight = started);
      waitUntil?.(started.read);
    }
    return this.#timeout > 0 ? this.#withTimeout(tenant, flight.read) : flight.read;
  }

  /**
   * Forgets a tenant, so its next request reads the store (the tenant API calls it after a change). A read
   * already under way is not shared with later requests, and what it brings back is not cached: it may
   * predate the change.
   */
  invalidate(tenant: string): void {
    this.#entries.delete(tenant);
    this.#inflight.delete(tenant);
    this.#epoch++;
  }

  /** Forgets every tenant. */
  clear(): void {
    this.#entries.clear();
  }

  /** Entries held (tests, metrics). */
  get size(): number {
    return this.#entries.size;
  }

  async #read(tenant: string): Promise<HeadLookup> {
    const epoch = this.#epoch;
    let lookup: HeadLookup;
    let ttl: number;
    try {
      const doc = await this.store.get(tenant);
      if (doc === null) lookup = NONE, ttl = this.#negativeTtl;
      // Checked again here (once per miss): a store that hands over a malformed document must not break
      // every request of the tenant later, in scoring.
      else lookup = { status: "tenant", head: tenantHeadOf(tenant, parseStoredHead(doc)) }, ttl = this.#ttl;
    } catch (err) {
      lookup = { status: "error", reason: `${this.store.kind}: ${errorMessage(err)}` };
      ttl = this.#errorTtl;
    }
    if (ttl > 0 && epoch === this.#epoch) this.#remember(tenant, { lookup, expires: this.#now() + ttl });
    return lookup;
  }

  #remember(tenant: string, entry: Entry): void {
    this.#entries.delete(tenant);
    if (this.#entries.size >= this.#max) {
      // Oldest insertion first: an approximation of LRU that costs nothing on a hit.
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(tenant, entry);
  }

  #withTimeout(tenant: string, pending: Promise<HeadLookup>): Promise<HeadLookup> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<HeadLookup>((resolve) => {
      timer = setTimeout(() => {
        const lookup: HeadLookup = {
          status: "error",
          reason: `${this.store.kind}: read timed out after ${this.#timeout} ms`,
        };
        // Later requests fail fast for the error TTL, unless the read lands first and replaces this.
        if (this.#inflight.get(tenant)?.read === pending && this.#errorTtl > 0) {
          this.#remember(tenant, { lookup, expires: this.#now() + this.#errorTtl });
        }
        resolve(lookup);
      }, this.#timeout);
    });
    return Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
  }
}

function errorMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.length > 200 ? msg.slice(0, 200) + "…" : msg;
}
