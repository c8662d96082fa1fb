/**
 * The tenant API's side of learning mode: the sum of a tenant's shards (and of this process's live state),
 * the τ proposals, the learnt profile and the head `POST .../learning/apply` makes.
 *
 * @module
 */
import { siteProfileOf, TokenCounts } from "../heads/site_profile.ts";
import { type Proposals, propose } from "../learn/proposals.ts";
import { addShard, emptyLearnt, type Learnt, shardOf } from "../learn/shard.ts";
import { HIST_BUCKETS, HIST_LO, HIST_STEP, type LearnSettings } from "../learn/state.ts";
import type { LearnEpoch } from "../learn/store.ts";
import type { Learner } from "../learn/learner.ts";
import { noveltyInit } from "../learn/term.ts";
import type { HeadParams, ModelMeta, SiteProfile } from "../model/types.ts";
import type { TenantStore } from "../store/tenant_store.ts";
import { STRUCTURE_KINDS } from "../features/extract.ts";

/** A tenant's learning as the API reads it. */
export interface LearntView {
  sum: Learnt;
  epoch: LearnEpoch | null;
  /** Shards left out: another epoch or another head version. */
  stale: number;
  /** Shards that could not be read. */
  invalid: number;
  /** Whether this process's live state was added. */
  live: boolean;
}

/**
 * Sums a tenant's shards of the current epoch learnt under `headVersion`, with this process's live state in
 * place of its own shard.
 */
export async function readLearnt(
  store: TenantStore,
  learner: Learner | null,
  tenant: string,
  headVersion: number | null,
): Promise<LearntView> {
  const [epoch, list] = await Promise.all([store.learning.getEpoch(tenant), store.learning.shards(tenant)]);
  const sum = emptyLearnt();
  const liveId = learner?.shardFor(tenant);
  const live = learner?.state(tenant);
  let stale = 0;
  const current = (e: string | null, since: number) =>
    epoch === null || e === epoch.epoch || (e === null && since >= epoch.since);
  for (const s of list.shards) {
    if (live !== undefined && s.shard === liveId) continue;
    if (!current(s.epoch, s.since) || s.headVersion !== headVersion) {
      stale++;
      continue;
    }
    addShard(sum, s);
  }
  let used = false;
  if (live !== undefined && liveId !== undefined && live.learnt > 0 && live.headVersion === headVersion) {
    if (current(live.epoch, live.since)) {
      addShard(sum, shardOf(tenant, liveId, live));
      used = true;
    }
  }
  return { sum, epoch, stale, invalid: list.invalid, live: used };
}

/**
 * The profile learnt: tokens counted at least `minCount` times, merged (Bloom filters OR-ed) with the
 * head's own profile when it has one of the same size.
 */
export function learntProfile(sum: Learnt, minCount: number, own: SiteProfile | null): SiteProfile {
  const counts = new TokenCounts();
  for (const [k, c] of sum.tokens) counts.counts.set(k, c);
  counts.requests = sum.learnt;
  const p = siteProfileOf(counts, minCount, 1);
  if (own !== null && own.bits.length === p.bits.length) {
    for (let i = 0; i < p.bits.length; i++) p.bits[i] |= own.bits[i];
    return { ...p, requests: p.requests + own.requests, tokens: p.tokens + own.tokens };
  }
  return p;
}

/** The head `apply` makes: the serving head, with the learnt profile (and `a0` if it had no weights). */
export function headWithProfile(base: HeadParams, profile: SiteProfile, meta: ModelMeta): HeadParams {
  const a = base.a !== undefined && base.profile !== undefined ? base.a : noveltyInit(meta).slice();
  return { ...base, a, profile };
}

/** The histogram as the API shows it. */
export function histogramView(
  h: Float64Array,
): { scale: "logit"; lo: number; step: number; counts: number[] } {
  return { scale: "logit", lo: HIST_LO, step: HIST_STEP, counts: Array.from(h.subarray(0, HIST_BUCKETS)) };
}

/** The profile learnt so far, per kind of structure token (what the Learning panel lists). */
export function profileView(sum: Learnt, settings: LearnSettings): {
  tokens: number;
  minCount: number;
  byKind: Record<string, number>;
} {
  const byKind: Record<string, number> = {};
  for (const k of STRUCTURE_KINDS) byKind[k] = 0;
  let tokens = 0;
  for (const [t, c] of sum.tokens) {
    if (c < settings.minCount) continue;
    tokens++;
    byKind[STRUCTURE_KINDS[(t >>> 28) & 7]]++;
  }
  return { tokens, minCount: settings.minCount, byKind };
}

export { type Proposals, propose };
