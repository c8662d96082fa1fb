/**
 * A learning shard: one isolate's (or process's) `LearnState` for one tenant as it writes it to KV, and the
 * merge of every shard of a tenant that the tenant API reads. Each isolate writes only its own shard (key
 * `learn/<tenant>/<shard id>`), whole, at most once per flush interval, so no two writers share a key.
 *
 * @module
 */
import { z } from "zod";
import { HIST_BUCKETS, type LearnState } from "./state.ts";
import { isShardId } from "./store.ts";
import { base64ToBytes, bytesToBase64 } from "../util/bytes.ts";

/** A shard document as stored. */
export interface LearnShard {
  /** The document's format version. */
  v: 1;
  /** The tenant it was learnt for. */
  tenant: string;
  /** The writer's id (`isShardId`): the key it is stored under. */
  shard: string;
  /** The learning epoch (`DELETE .../learning` starts a new one); `null` when none was set yet. */
  epoch: string | null;
  /** The serving head's version (`null`: the global head). */
  headVersion: number | null;
  /** When its first request was seen (ms since the Unix epoch). */
  since: number;
  /** When its last request was seen (ms since the Unix epoch). */
  updated: number;
  /** Requests seen, learnt or not (see `LearnState`). */
  seen: number;
  /** Requests learnt. */
  learnt: number;
  /** Requests not learnt: their client had given its share. */
  capped: number;
  /** Requests learnt without a client address. */
  anonymous: number;
  /** Learnt requests the serving head flagged. */
  flagged: number;
  /** Requests in `proposed`. */
  proposedCount: number;
  /** The served histogram as `[bucket, count]` pairs (non-zero buckets only). */
  served: [number, number][];
  /** The proposed histogram, likewise. */
  proposed: [number, number][];
  /** Token keys: base64 of little-endian int32s. */
  tokenKeys: string;
  /** Their counts: base64 of little-endian uint32s, in the same order. */
  tokenCounts: string;
}

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const pairs = z.array(z.tuple([z.number().int().min(0).max(HIST_BUCKETS - 1), count])).max(HIST_BUCKETS);
// Base64 is checked when the shard is added up (`addShard`): `atob` refuses anything else.
const b64 = z.string().max(64 * 1024);

const shardSchema = z.object({
  v: z.literal(1),
  tenant: z.string().min(1).max(253),
  shard: z.string().refine(isShardId, { message: "must be 1-64 of A-Z a-z 0-9 _ -" }),
  epoch: z.string().min(1).max(64).nullable(),
  headVersion: z.number().int().min(1).nullable(),
  since: count,
  updated: count,
  seen: count,
  learnt: count,
  capped: count,
  anonymous: count,
  flagged: count,
  proposedCount: count,
  served: pairs,
  proposed: pairs,
  tokenKeys: b64,
  tokenCounts: b64,
});

/**
 * Checks a stored shard.
 *
 * @throws {TypeError} when it is not one.
 */
export function parseShard(value: unknown): LearnShard {
  const r = shardSchema.safeParse(value);
  if (!r.success) throw new TypeError("invalid learning shard");
  return r.data as LearnShard;
}

function sparse(h: Uint32Array): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < h.length; i++) if (h[i] > 0) out.push([i, h[i]]);
  return out;
}

/** The shard document of a state. */
export function shardOf(tenant: string, shard: string, s: LearnState): LearnShard {
  const n = s.tokens.size;
  const keys = new Int32Array(n), counts = new Uint32Array(n);
  let j = 0;
  for (const [k, c] of s.tokens.entries()) {
    keys[j] = k;
    counts[j++] = c;
  }
  return {
    v: 1,
    tenant,
    shard,
    epoch: s.epoch,
    headVersion: s.headVersion,
    since: s.since,
    updated: s.updated,
    seen: s.seen,
    learnt: s.learnt,
    capped: s.capped,
    anonymous: s.anonymous,
    flagged: s.flagged,
    proposedCount: s.proposedCount,
    served: sparse(s.served),
    proposed: sparse(s.proposed),
    tokenKeys: bytesToBase64(new Uint8Array(keys.buffer)),
    tokenCounts: bytesToBase64(new Uint8Array(counts.buffer)),
  };
}

/** What a tenant's shards add up to (what the API shows and applies). */
export interface Learnt {
  /** Shards added. */
  shards: number;
  /** The earliest first request over the shards (ms), or `null` for none. */
  since: number | null;
  /** The latest last request (ms), or `null`. */
  updated: number | null;
  /** Requests seen, summed. */
  seen: number;
  /** Requests learnt, summed. */
  learnt: number;
  /** Requests past their client's share, summed. */
  capped: number;
  /** Requests learnt without an address, summed. */
  anonymous: number;
  /** Learnt requests the serving head flagged, summed. */
  flagged: number;
  /** The served histogram, summed (`HIST_BUCKETS`). */
  served: Float64Array;
  /** The proposed histogram, summed. */
  proposed: Float64Array;
  /** Requests in `proposed`, summed. */
  proposedCount: number;
  /** Token counts, summed over shards. */
  tokens: Map<number, number>;
}

/** An empty sum. */
export function emptyLearnt(): Learnt {
  return {
    shards: 0,
    since: null,
    updated: null,
    seen: 0,
    learnt: 0,
    capped: 0,
    anonymous: 0,
    flagged: 0,
    served: new Float64Array(HIST_BUCKETS),
    proposed: new Float64Array(HIST_BUCKETS),
    proposedCount: 0,
    tokens: new Map(),
  };
}

/**
 * Adds a shard to a sum.
 *
 * @throws {TypeError} when its token arrays do not match.
 */
export function addShard(sum: Learnt, s: LearnShard): Learnt {
  let keysB: Uint8Array, countsB: Uint8Array;
  try {
    keysB = base64ToBytes(s.tokenKeys);
    countsB = base64ToBytes(s.tokenCounts);
  } catch {
    throw new TypeError("invalid learning shard: token arrays are not base64");
  }
  if (keysB.length !== countsB.length || keysB.length % 4 !== 0) {
    throw new TypeError("invalid learning shard: token arrays differ");
  }
  const dv = new DataView(keysB.buffer), dc = new DataView(countsB.buffer);
  for (let i = 0; i < keysB.length; i += 4) {
    const k = dv.getInt32(i, true);
    sum.tokens.set(k, (sum.tokens.get(k) ?? 0) + dc.getUint32(i, true));
  }
  for (const [b, c] of s.served) sum.served[b] += c;
  for (const [b, c] of s.proposed) sum.proposed[b] += c;
  sum.shards++;
  sum.since = sum.since === null ? s.since : Math.min(sum.since, s.since);
  sum.updated = sum.updated === null ? s.updated : Math.max(sum.updated, s.updated);
  sum.seen += s.seen;
  sum.learnt += s.learnt;
  sum.capped += s.capped;
  sum.anonymous += s.anonymous;
  sum.flagged += s.flagged;
  sum.proposedCount += s.proposedCount;
  return sum;
}
