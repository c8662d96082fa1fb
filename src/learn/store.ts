/**
 * Where learning shards and epochs live: beside the heads, in the same storage (`TenantStore.learning`).
 * Keys (string-keyed stores): `learn/<tenant>/shard/<id>` (one per isolate or process, written whole by
 * it alone, expiring `ttlSeconds` after its last write) and `learn/<tenant>/epoch` (set by
 * `DELETE .../learning`: shards of another epoch no longer count).
 *
 * @module
 */
import { z } from "zod";
import { type LearnShard, parseShard } from "./shard.ts";

/** A learning epoch: `DELETE .../learning` starts a new one. */
export interface LearnEpoch {
  /** Its random id. */
  epoch: string;
  /** When it started (ms since the Unix epoch). */
  since: number;
}

/** A tenant's shards as read: the valid ones, and how many were not (skipped, never fatal). */
export interface ShardList {
  /** The shards that parsed. */
  shards: LearnShard[];
  /** Values that were not shards of the tenant (skipped). */
  invalid: number;
}

/** The learning part of a tenant store. */
export interface LearnStore {
  /** Writes one shard whole (its `shard` id names the key), to expire `ttlSeconds` after this write. */
  putShard(tenant: string, doc: LearnShard, ttlSeconds: number): Promise<void>;
  /** Every shard of the tenant. */
  shards(tenant: string): Promise<ShardList>;
  /** Removes every shard of the tenant; returns how many. */
  clearShards(tenant: string): Promise<number>;
  /** The tenant's current epoch, or `null` when learning was never started again. */
  getEpoch(tenant: string): Promise<LearnEpoch | null>;
  /** Sets the tenant's epoch (`DELETE .../learning`). */
  putEpoch(tenant: string, epoch: LearnEpoch): Promise<void>;
}

const epochSchema = z.object({
  epoch: z.string().min(1).max(64),
  since: z.number().int().min(0),
});

/** Checks a stored epoch. */
export function parseEpoch(value: unknown): LearnEpoch {
  const r = epochSchema.safeParse(value);
  if (!r.success) throw new TypeError("invalid learning epoch");
  return r.data;
}

/** Prefix of a tenant's shard keys (string keys). */
export function shardPrefix(tenant: string): string {
  return `learn/${tenant}/shard/`;
}

/** Key of a tenant's epoch (string keys). */
export function epochKey(tenant: string): string {
  return `learn/${tenant}/epoch`;
}

/** Parses shard texts or values, counting the ones that are not shards of `tenant`. */
export function collectShards(tenant: string, values: unknown[]): ShardList {
  const shards: LearnShard[] = [];
  let invalid = 0;
  for (const v of values) {
    if (v === null || v === undefined) continue; // listed, then expired or deleted
    try {
      const s = parseShard(typeof v === "string" ? JSON.parse(v) : v);
      if (s.tenant !== tenant) invalid++;
      else shards.push(s);
    } catch {
      invalid++;
    }
  }
  return { shards, invalid };
}

/** Shard ids: what an isolate calls itself (1 to 64 of letters, digits, `-`, `_`: safe in any key). */
export function isShardId(id: string): boolean {
  if (typeof id !== "string" || id.length < 1 || id.length > 64) return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95;
    if (!ok) return false;
  }
  return true;
}
