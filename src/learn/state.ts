/**
 * What learning mode keeps of one tenant's live traffic in one isolate, in fixed memory (about 42 KB,
 * whatever the traffic): two score histograms, the counts of the site's structure tokens (its profile to
 * be) and the counts of its clients (to bound each one's share).
 *
 * - `served`: the logits the tenant's requests got from the head that scored them (what the site sees).
 * - `proposed`: the logits the head that `apply` would make (the same head plus the profile being learnt)
 *   would have given them, each request scored against the profile learnt from the requests before it
 *   (prequential: exactly how the profile will meet future traffic), from the `warmup`-th request on.
 * - Token counts: an open-addressing table of `TOKEN_SLOTS` slots. When it is three quarters full every
 *   count is halved and the zeros leave: a flood of one-off tokens (hostile traffic with random paths,
 *   parameters and values) is forgotten, the site's common tokens stay.
 * - Client counts: the same kind of table over a hash of the client's address. A client that has given more
 *   than `max(clientFloor, clientShare · learnt)` requests is not learnt from (`capped`).
 *
 * Tokens of requests the serving head flags are not learnt (what looks like an attack must not become
 * normal), nor tokens seen fewer than `minCount` times (one request cannot whitelist a token).
 *
 * @module
 */
import { NOVELTY_DIM, profileHas, type SiteProfile } from "../heads/site_profile.ts";

/** Histogram of logits: `HIST_BUCKETS` buckets of `HIST_STEP` from `HIST_LO`; the end buckets take the tails. */
export const HIST_LO: number = -16, HIST_STEP: number = 0.125, HIST_BUCKETS: number = 256;
/** Slots of the token table and of the client table (powers of two). */
export const TOKEN_SLOTS: number = 4096, CLIENT_SLOTS: number = 1024;
const LOAD_MAX = 0.75;

/** The bucket of a logit. */
export function bucketOf(logit: number): number {
  if (!(logit > HIST_LO)) return 0; // NaN too
  const i = Math.floor((logit - HIST_LO) / HIST_STEP);
  return i >= HIST_BUCKETS ? HIST_BUCKETS - 1 : i;
}

/** The lower edge (a logit) of a bucket. */
export function bucketEdge(i: number): number {
  return HIST_LO + i * HIST_STEP;
}

/** How learning treats traffic; every field has a default (`LEARN_DEFAULTS`). */
export interface LearnSettings {
  /** A client gives at most `max(clientFloor, clientShare · learnt)` of the requests learnt: the share... */
  clientShare: number;
  /** ... and the floor (what any client may give while little has been learnt). */
  clientFloor: number;
  /** A token is normal for the site once seen this many times in requests learnt (and not flagged). */
  minCount: number;
  /** Requests learnt before `proposed` starts (the profile needs a start). */
  warmup: number;
}

/** The defaults of `LearnSettings`. */
export const LEARN_DEFAULTS: Readonly<LearnSettings> = Object.freeze({
  clientShare: 0.02,
  clientFloor: 20,
  minCount: 3,
  warmup: 200,
});

/** What the serving head says about one request, for `LearnState.observe`. */
export interface Observation {
  /** The logit of the score the request got. */
  logit: number;
  /** Whether it was at or above τ. */
  flagged: boolean;
  /** Its structure tokens (`FeatureBuffer.structure`; only the first `nStructure` are read). */
  structure: ArrayLike<number>;
  /** How many of `structure` are valid. */
  nStructure: number;
  /** A hash of its client's address (`clientHash`), or `null` when the runtime gives none. */
  client: number | null;
}

/** The serving head's site-profile term: its novelty weights and, if it has one, its profile. */
export interface ProfileTerm {
  /** Novelty weights (`NOVELTY_DIM`): the head's own, or the model's init `a0`. */
  a: ArrayLike<number>;
  /** The head's profile (its novelty is in the served logit), or `null`. */
  profile: SiteProfile | null;
  /** The scale of the learnt profile's novelty features (`profileWeight`; 1 with the shipped settings). */
  weight: number;
}

/** A 32-bit hash of a client's address (FNV-1a, finalised). */
export function clientHash(address: string): number {
  let h = 0x811c9dc5;
  const n = Math.min(address.length, 64);
  for (let i = 0; i < n; i++) h = Math.imul(h ^ address.charCodeAt(i), 0x01000193);
  return mix(h) | 0;
}

function mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A fixed-size table of counts by 32-bit key; halves its counts when three quarters full. */
export class CountTable {
  /** The slots' keys (meaningful where `counts` is non-zero). */
  readonly keys: Int32Array;
  /** The slots' counts; 0 marks an empty slot. */
  readonly counts: Uint32Array;
  /** Slots taken. */
  size: number = 0;
  #mask: number;

  /**
   * An empty table.
   *
   * @param slots How many slots (a power of two); the table never grows.
   */
  constructor(slots: number) {
    this.keys = new Int32Array(slots);
    this.counts = new Uint32Array(slots);
    this.#mask = slots - 1;
  }

  /** The count of a key (0 when absent). */
  get(key: number): number {
    const { keys, counts } = this, mask = this.#mask;
    for (let i = mix(key) & mask;; i = (i + 1) & mask) {
      const c = counts[i];
      if (c === 0) return 0;
      if (keys[i] === key) return c;
    }
  }

  /**
   * A key's count before this call, adding 1 to it when `add` (one probe for both).
   *
   * @param key The key.
   * @param add Count this occurrence.
   */
  bump(key: number, add: boolean): number {
    const { keys, counts } = this, mask = this.#mask;
    for (let i = mix(key) & mask;; i = (i + 1) & mask) {
      const c = counts[i];
      if (c === 0) {
        if (add) this.add(key);
        return 0;
      }
      if (keys[i] === key) {
        if (add && c < 0xffffffff) counts[i] = c + 1;
        return c;
      }
    }
  }

  /** Adds `by` to a key's count. */
  add(key: number, by = 1): void {
    const { keys, counts } = this, mask = this.#mask;
    for (let i = mix(key) & mask;; i = (i + 1) & mask) {
      const c = counts[i];
      if (c === 0) {
        if (this.size + 1 > this.keys.length * LOAD_MAX) {
          this.decay();
          return this.add(key, by);
        }
        keys[i] = key;
        counts[i] = Math.min(by, 0xffffffff);
        this.size++;
        return;
      }
      if (keys[i] === key) {
        counts[i] = Math.min(c + by, 0xffffffff);
        return;
      }
    }
  }

  /** Halves every count (until at most half the slots are taken); keys whose count falls to 0 leave. */
  decay(): void {
    const oldKeys = this.keys.slice(), oldCounts = this.counts.slice();
    do {
      this.keys.fill(0);
      this.counts.fill(0);
      this.size = 0;
      for (let i = 0; i < oldCounts.length; i++) {
        oldCounts[i] >>>= 1;
        if (oldCounts[i] > 0) this.#place(oldKeys[i], oldCounts[i]);
      }
    } while (this.size > this.keys.length / 2);
  }

  #place(key: number, count: number): void {
    const { keys, counts } = this, mask = this.#mask;
    let i = mix(key) & mask;
    while (counts[i] !== 0) i = (i + 1) & mask;
    keys[i] = key;
    counts[i] = count;
    this.size++;
  }

  /** Empties the table. */
  clear(): void {
    this.keys.fill(0);
    this.counts.fill(0);
    this.size = 0;
  }

  /** Every key with its count. */
  *entries(): Generator<[number, number]> {
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i] > 0) yield [this.keys[i], this.counts[i]];
  }
}

const nOld = new Int32Array(NOVELTY_DIM), nNew = new Int32Array(NOVELTY_DIM);

/** One tenant's learning in one isolate. */
export class LearnState {
  /** Histogram of the logits the requests learnt got from the serving head. */
  readonly served: Uint32Array = new Uint32Array(HIST_BUCKETS);
  /** Histogram of the logits the head `apply` makes would have given them (prequential, after `warmup`). */
  readonly proposed: Uint32Array = new Uint32Array(HIST_BUCKETS);
  /** Counts of the site's structure tokens (the profile to be). */
  readonly tokens: CountTable = new CountTable(TOKEN_SLOTS);
  /** Counts of requests per client (hash of the address), for the per-client bound. */
  readonly clients: CountTable = new CountTable(CLIENT_SLOTS);
  /** Requests seen (learnt or not). */
  seen: number = 0;
  /** Requests learnt. */
  learnt: number = 0;
  /** Requests not learnt because their client had given its share. */
  capped: number = 0;
  /** Requests learnt without a client address. */
  anonymous: number = 0;
  /** Learnt requests the serving head flagged. */
  flagged: number = 0;
  /** Requests in `proposed`. */
  proposedCount: number = 0;
  /** When the first request was seen (ms since the Unix epoch). */
  since: number = 0;
  /** When the last request was seen (ms since the Unix epoch). */
  updated: number = 0;
  /** The serving head's version (`null`: the global head); a request under another head starts again. */
  headVersion: number | null = null;
  /** The learning epoch this state belongs to (`null` until the store was asked). */
  epoch: string | null = null;
  /** Changed since it was last written. */
  dirty: boolean = false;
  /** The learner's recency stamp (which tenant to evict first). */
  tick: number = 0;

  /**
   * An empty state.
   *
   * @param settings How traffic is learnt (the per-client bound, `minCount`, `warmup`).
   */
  constructor(readonly settings: LearnSettings = LEARN_DEFAULTS) {}

  /** Bytes of its tables: fixed, whatever the traffic. */
  bytes(): number {
    return this.served.byteLength + this.proposed.byteLength + this.tokens.keys.byteLength +
      this.tokens.counts.byteLength + this.clients.keys.byteLength + this.clients.counts.byteLength;
  }

  /** Forgets everything (a new epoch or a new head). */
  reset(headVersion: number | null, now: number): void {
    this.served.fill(0);
    this.proposed.fill(0);
    this.tokens.clear();
    this.clients.clear();
    this.seen =
      this.learnt =
      this.capped =
      this.anonymous =
      this.flagged =
      this.proposedCount =
        0;
    this.since = now;
    this.updated = now;
    this.headVersion = headVersion;
    this.dirty = true;
  }

  /**
   * Learns one request.
   *
   * @param o What the serving head said and the request's tokens and client.
   * @param term The serving head's site-profile term.
   * @param now The time (ms).
   * @returns Whether it was learnt (`false`: its client had given its share).
   */
  observe(o: Observation, term: ProfileTerm, now: number): boolean {
    const s = this.settings;
    if (this.seen === 0) this.since = now;
    this.seen++;
    this.updated = now;
    this.dirty = true;
    if (o.client === null) this.anonymous++;
    else {
      const cap = Math.max(s.clientFloor, Math.floor(s.clientShare * this.learnt));
      if (this.clients.get(o.client) >= cap) {
        this.capped++;
        return false;
      }
      this.clients.add(o.client);
    }
    this.learnt++;
    this.served[bucketOf(o.logit)]++;
    if (o.flagged) this.flagged++;
    const { structure, nStructure: n } = o;
    const tokens = this.tokens, learn = !o.flagged;
    if (this.learnt <= s.warmup) {
      if (learn) { for (let i = 0; i < n; i++) tokens.add(structure[i]); }
      return true;
    }
    // The head `apply` makes: the served head's profile term swapped for the merged profile's (a token is
    // novel when neither the head's profile nor the traffic learnt so far knows it). One probe per token
    // reads its count (before this request) and counts it.
    const old = term.profile;
    let novelOld = 0, novelNew = 0;
    for (let i = 0; i < n; i++) {
      const t = structure[i];
      const seen = tokens.bump(t, learn);
      if (old !== null && profileHas(old, t)) continue;
      const k = (t >>> 28) & 7;
      if (old !== null) {
        if (novelOld === 0) nOld.fill(0);
        novelOld++;
        nOld[k]++;
      }
      if (seen < s.minCount) {
        if (novelNew === 0) nNew.fill(0);
        novelNew++;
        nNew[k]++;
      }
    }
    let x = o.logit;
    if (novelOld + novelNew > 0) {
      const a = term.a, wOld = old?.weight ?? 0;
      for (let k = 0; k < NOVELTY_DIM; k++) {
        if (novelOld > 0 && nOld[k] !== 0) x -= a[k] * wOld * Math.log1p(nOld[k]);
        if (novelNew > 0 && nNew[k] !== 0) x += a[k] * term.weight * Math.log1p(nNew[k]);
      }
    }
    this.proposed[bucketOf(x)]++;
    this.proposedCount++;
    return true;
  }
}
