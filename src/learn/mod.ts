/**
 * Learning mode: each tenant's score distribution and site profile learnt from its live traffic, in bounded
 * memory per isolate, written to shards in the tenant store, added up and applied by the tenant API
 * (`GET|DELETE /_taugate/tenants/:t/learning`, `POST .../learning/apply`).
 *
 * @example
 * ```ts
 * import { Learner } from "./mod.ts";
 * import { MemoryTenantStore } from "../store/tenant_memory.ts";
 * const store = new MemoryTenantStore();
 * const learner = new Learner({ store: store.learning, flushMs: 60_000 });
 * // taugate({ engine, mode: "log", learn: learner }) and tenantApi({ ..., store, learner })
 * ```
 * @module
 */
export { EVICT_WRITE_MIN, Learner, type LearnerOptions } from "./learner.ts";
export {
  allowedExceedances,
  CONFIDENCE,
  type Proposal,
  type Proposals,
  propose,
  TARGET_FPRS,
} from "./proposals.ts";
export { addShard, emptyLearnt, type LearnShard, type Learnt, parseShard, shardOf } from "./shard.ts";
export {
  bucketEdge,
  bucketOf,
  clientHash,
  CountTable,
  HIST_BUCKETS,
  HIST_LO,
  HIST_STEP,
  LEARN_DEFAULTS,
  type LearnSettings,
  LearnState,
  type Observation,
  type ProfileTerm,
} from "./state.ts";
export { isShardId, type LearnEpoch, type LearnStore, type ShardList } from "./store.ts";
export { noveltyInit, profileTermOf } from "./term.ts";
export type { HeadParams, ModelMeta, SiteProfile } from "../model/types.ts";
