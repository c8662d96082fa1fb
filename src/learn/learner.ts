/**
 * `Learner`: learning mode's per-isolate part. The middleware hands it every scored request of a tenant
 * (`observe`, synchronous, under a microsecond); it keeps one `LearnState` per tenant (at most `maxTenants`;
 * the least recently seen leaves first, written out before it goes) and writes each tenant's state to its
 * own shard in the store at most once per `flushMs`, off the request's path (`waitUntil` on workerd).
 *
 * The tenant API reads the sum of the tenant's shards, plus, when it runs in the same process (Deno), the
 * learner's live state: there it sees every request learnt so far at once.
 *
 * @example
 * ```ts
 * import { Learner } from "./learner.ts";
 * import { MemoryTenantStore } from "../store/tenant_memory.ts";
 * const learner = new Learner({ store: new MemoryTenantStore().learning, flushMs: 60_000 });
 * learner.observe("shop.example", null, { logit: -4, flagged: false, structure: [1, 2], nStructure: 2, client: null },
 *   { a: new Float32Array(8), profile: null, weight: 1 });
 * learner.state("shop.example")?.learnt; // 1
 * ```
 * @module
 */
import { z } from "zod";
import { shardOf } from "./shard.ts";
import {
  LEARN_DEFAULTS,
  type LearnSettings,
  LearnState,
  type Observation,
  type ProfileTerm,
} from "./state.ts";
import { isShardId, type LearnStore } from "./store.ts";
import { optionsError } from "../util/zod.ts";
import type { Same } from "../util/types.ts";
import { toHex } from "../util/bytes.ts";
import { stripUndefined } from "../util/object.ts";

/** Options of a `Learner`. */
export interface LearnerOptions {
  /** Where shards go (`TenantStore.learning`); without one, learning stays in this isolate. */
  store?: LearnStore | null;
  /** Shortest time between two writes of one tenant's shard (default 300 000 ms; at least 1 000). */
  flushMs?: number;
  /** A shard expires this long after its last write (default 7 days). */
  ttlSeconds?: number;
  /** Tenants learnt at once in this isolate (default 64; each takes about 42 KB). */
  maxTenants?: number;
  /** How traffic is learnt (`LEARN_DEFAULTS`). */
  settings?: Partial<LearnSettings>;
  /** This isolate's shard id (default: random). */
  shardId?: string;
  /** Clock in ms (tests). */
  now?: () => number;
  /** Where a failed write is reported (default `console.error`, one JSON line). */
  onError?: (line: string) => void;
}

const optionsSchema = z.strictObject({
  store: z.custom<LearnStore>(
    (v) => v === null || (typeof v === "object" && typeof (v as LearnStore).putShard === "function"),
    { message: "must be a LearnStore (TenantStore.learning)" },
  ).nullable().optional(),
  flushMs: z.number().min(1_000).max(86_400_000).default(300_000),
  ttlSeconds: z.number().min(60).max(365 * 86_400).default(7 * 86_400),
  maxTenants: z.number().int().min(1).max(10_000).default(64),
  settings: z.strictObject({
    clientShare: z.number().min(0).max(1).optional(),
    clientFloor: z.number().int().min(1).optional(),
    minCount: z.number().int().min(1).max(1_000).optional(),
    warmup: z.number().int().min(0).max(1_000_000).optional(),
  }).default({}),
  shardId: z.string().refine(isShardId, { message: "must be 1-64 of A-Z a-z 0-9 _ -" }).optional(),
  now: z.custom<() => number>((v) => typeof v === "function", { message: "must be a function" }).optional(),
  onError: z.custom<(line: string) => void>((v) => typeof v === "function", { message: "must be a function" })
    .optional(),
});

// The documented options are the schema's input, field for field (a compile-time check).
const _learnerOptionsAreTheSchema: Same<Required<LearnerOptions>, Required<z.input<typeof optionsSchema>>> =
  true;
void _learnerOptionsAreTheSchema;

/** An evicted tenant's state is written out only when it learnt at least this many requests. */
export const EVICT_WRITE_MIN = 20;

/** Learning mode in one isolate or process. */
export class Learner {
  /** This isolate's id; each tenant's state writes to `<shardId>-<n>`. */
  readonly shardId: string;
  /** Shortest time between two writes of one tenant's shard (ms). */
  readonly flushMs: number;
  /** Where shards go, or `null` (learning stays in this isolate). */
  readonly store: LearnStore | null;
  /** How traffic is learnt. */
  readonly settings: LearnSettings;
  #ttl: number;
  #max: number;
  #now: () => number;
  #onError: (line: string) => void;
  #states = new Map<string, LearnState>();
  #lastFlush = new Map<string, number>();
  #flushing = new Map<string, Promise<void>>();
  /** Each state's shard id: the isolate's, and a sequence number (a tenant evicted and seen again writes anew). */
  #shards = new Map<string, string>();
  #seq = 0;
  #tick = 0;

  /**
   * Makes a learner (one per isolate or process; give the same one to the middleware and the tenant API).
   *
   * @param options Store, flush interval, shard TTL, tenants kept, settings.
   * @throws {TypeError} naming the option, when one is invalid.
   */
  constructor(options: LearnerOptions = {}) {
    const r = optionsSchema.safeParse(options);
    if (!r.success) throw optionsError("Learner", r.error);
    const o = r.data;
    this.store = o.store ?? null;
    this.flushMs = o.flushMs;
    this.#ttl = o.ttlSeconds;
    this.#max = o.maxTenants;
    this.settings = { ...LEARN_DEFAULTS, ...stripUndefined(o.settings) };
    this.shardId = o.shardId ?? randomId();
    this.#now = o.now ?? Date.now;
    this.#onError = o.onError ?? ((line) => console.error(line));
  }

  /**
   * Learns one scored request of a tenant.
   *
   * @param tenant The tenant.
   * @param headVersion The version of the head that scored it (`null`: the global head). A request under
   *   another head than the tenant's state was learnt under starts that state again.
   * @param o The request's logit, flag, tokens and client.
   * @param term The serving head's site-profile term.
   * @param keep Keeps a write alive past the request (`waitUntil`); without it writes still run.
   */
  observe(
    tenant: string,
    headVersion: number | null,
    o: Observation,
    term: ProfileTerm,
    keep?: (p: Promise<unknown>) => void,
  ): void {
    const now = this.#now();
    let s = this.#states.get(tenant);
    if (s === undefined) {
      if (this.#states.size >= this.#max) this.#evict(keep);
      s = new LearnState(this.settings);
      s.reset(headVersion, now);
      this.#states.set(tenant, s);
      this.#shards.set(tenant, `${this.shardId}-${this.#seq++}`);
      this.#lastFlush.set(tenant, now);
    } else if (s.headVersion !== headVersion) s.reset(headVersion, now);
    s.tick = ++this.#tick;
    s.observe(o, term, now);
    if (this.store !== null && now - (this.#lastFlush.get(tenant) ?? 0) >= this.flushMs) {
      const p = this.flush(tenant);
      keep?.(p);
    }
  }

  /** The live state of a tenant in this isolate, if any. */
  state(tenant: string): LearnState | undefined {
    return this.#states.get(tenant);
  }

  /** The shard id a tenant's live state writes to (the API leaves that shard out and uses the live state). */
  shardFor(tenant: string): string | undefined {
    return this.#shards.get(tenant);
  }

  /** Tenants learnt in this isolate. */
  tenants(): string[] {
    return [...this.#states.keys()];
  }

  /** Forgets a tenant here (the API's `DELETE .../learning` in this process). */
  forget(tenant: string): void {
    this.#states.delete(tenant);
    this.#shards.delete(tenant);
    this.#lastFlush.set(tenant, this.#now());
  }

  /**
   * Writes a tenant's state to its shard now (if it changed). First checks the tenant's epoch: a state begun
   * before a `DELETE .../learning` in another isolate starts again instead of being written.
   * Never rejects: a failure is reported through `onError`, and the next flush tries again.
   */
  flush(tenant: string): Promise<void> {
    const running = this.#flushing.get(tenant);
    if (running !== undefined) return running;
    this.#lastFlush.set(tenant, this.#now());
    const p = this.#write(tenant).catch((err) => {
      this.#onError(JSON.stringify({
        msg: "taugate learn: shard write failed",
        tenant,
        error: String(err instanceof Error ? err.message : err).slice(0, 200),
      }));
    }).finally(() => this.#flushing.delete(tenant));
    this.#flushing.set(tenant, p);
    return p;
  }

  /** Writes every tenant's state (e.g. before an isolate or process stops). */
  async flushAll(): Promise<void> {
    await Promise.all(this.tenants().map((t) => this.flush(t)));
  }

  async #write(tenant: string, state?: LearnState, shard?: string): Promise<void> {
    const store = this.store;
    const s = state ?? this.#states.get(tenant);
    const id = shard ?? this.#shards.get(tenant);
    if (store === null || s === undefined || id === undefined || !s.dirty) return;
    const e = await store.getEpoch(tenant);
    if (e !== null && s.epoch !== e.epoch) {
      const began = s.since;
      s.epoch = e.epoch;
      // Learnt (at least partly) before the tenant's learning was started again: start again too.
      if (began < e.since) {
        s.reset(s.headVersion, this.#now());
        s.epoch = e.epoch;
        s.dirty = false;
        return;
      }
    }
    s.dirty = false;
    try {
      await store.putShard(tenant, shardOf(tenant, id, s), this.#ttl);
    } catch (err) {
      s.dirty = true;
      throw err;
    }
  }

  /** Writes out and forgets the tenant seen least recently (a scan of at most `maxTenants`, on a new tenant). */
  #evict(keep?: (p: Promise<unknown>) => void): void {
    let oldest = "", state: LearnState | undefined;
    for (const [t, s] of this.#states) {
      if (state === undefined || s.tick < state.tick) oldest = t, state = s;
    }
    if (state === undefined) return;
    const shard = this.#shards.get(oldest);
    this.#states.delete(oldest);
    this.#shards.delete(oldest);
    this.#lastFlush.delete(oldest);
    // A tenant of a few requests is not worth a write (a client cycling through Host names makes many).
    if (this.store !== null && state.learnt >= EVICT_WRITE_MIN) {
      const p = this.#write(oldest, state, shard).catch(() => {});
      keep?.(p);
    }
  }
}

function randomId(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(12)));
}
