/**
 * What the tenant API needs from the model besides its backbone: the adaptation settings (`meta.adapt`,
 * the very config `deno task eval` adapts with) and the canary set of attacks the guard checks heads on.
 * Both are read once per engine.
 *
 * @module
 */
import { z } from "zod";
import { featuresOfRecord, type FeatureVector } from "../features/mod.ts";
import type { AdaptConfig } from "../heads/adapt.ts";
import { NOVELTY_DIM } from "../heads/site_profile.ts";
import { RESIDUAL_DEFAULT } from "../heads/residual.ts";
import { DEFAULT_VALUE_CONFIG, VALUE_DIM } from "../heads/value_profile.ts";
import type { Engine, ModelMeta } from "../model/types.ts";
import { parseRecord } from "../record/schema.ts";
import { ApiError } from "./errors.ts";
import { firstIssue } from "../util/zod.ts";

/** Most canaries read from a model. */
const MAX_CANARIES = 10_000;

const finite = z.number().refine(Number.isFinite, { message: "must be finite" });

function adaptSchema() {
  return z.object({
    method: z.enum(["gd", "proto"]),
    steps: z.number().int().min(0).max(100_000),
    lr: finite.pipe(z.number().min(0)),
    prox: finite.pipe(z.number().min(0)),
    protoScale: finite.optional(),
    profile: z.object({
      minCount: z.number().int().min(1),
      minCountLarge: z.number().int().min(1),
      largeFrom: z.number().int().min(0),
      confidence: finite.pipe(z.number().min(0)),
      a0: z.array(finite).length(NOVELTY_DIM),
    }).optional(),
    // Bounded: an upload's fit (and its out-of-fold refits) must stay within milliseconds.
    residual: z.object({
      l2: finite.pipe(z.number().min(0)),
      l2Dense: finite.pipe(z.number().min(0)),
      l2Scale: finite.pipe(z.number().min(0)),
      l2Novelty: finite.pipe(z.number().min(0)),
      noveltyFrom: finite.pipe(z.number().min(0)).optional(),
      steps: z.number().int().min(0).max(2000),
      lr: finite.pipe(z.number().min(0).max(100)),
      maxWeights: z.number().int().min(0).max(4096),
      anchors: finite.pipe(z.number().min(0)),
      margin: finite.pipe(z.number().min(0)).default(RESIDUAL_DEFAULT.margin),
      contrast: finite.pipe(z.number().min(0)).default(RESIDUAL_DEFAULT.contrast),
      endpoints: z.boolean().default(RESIDUAL_DEFAULT.endpoints!),
      escalate: z.number().int().min(0).max(2000).default(RESIDUAL_DEFAULT.escalate!),
      // A model that predates the gate gets the default one; null: none.
      gate: z.object({ from: z.number().min(0).max(1), to: z.number().min(0).max(1) })
        .refine((g) => g.from < g.to, { message: "gate.from must be below gate.to" }).nullable()
        .default(RESIDUAL_DEFAULT.gate ?? null),
      // Absent: bounds (`ResidualConfig.bounds`).
      bounds: z.boolean().optional(),
      // Absent: shape (`ResidualConfig.shape`).
      shape: z.boolean().optional(),
    }).optional(),
    // A model that predates value profiles gets the defaults (used by residual heads only).
    values: z.object({
      minSupport: z.number().int().min(1).max(1_000_000),
      enumMin: z.number().int().min(1).max(1_000_000),
      required: finite.pipe(z.number().gt(0).max(1)),
      a0: z.array(finite.pipe(z.number().min(0))).length(VALUE_DIM),
    }).default(() => ({ ...DEFAULT_VALUE_CONFIG, a0: [...DEFAULT_VALUE_CONFIG.a0] })),
  });
}

const configs = new WeakMap<ModelMeta, AdaptConfig>();

/**
 * The model's adaptation settings, checked.
 *
 * @param meta The model's card.
 * @returns `meta.adapt` as an `AdaptConfig`.
 * @throws {ApiError} 503 `model_unsupported` when the model ships none or a malformed one.
 */
export function adaptConfigOf(meta: ModelMeta): AdaptConfig {
  const known = configs.get(meta);
  if (known) return known;
  if (meta.adapt === undefined) {
    throw new ApiError(
      503,
      "model_unsupported",
      `model ${meta.modelId} ships no adaptation settings (meta.adapt): tenant heads cannot be fitted`,
    );
  }
  const r = adaptSchema().safeParse(meta.adapt);
  if (!r.success) {
    const issue = firstIssue(r.error);
    throw new ApiError(
      503,
      "model_unsupported",
      `model ${meta.modelId}: meta.adapt.${issue.path}: ${issue.message}`,
    );
  }
  const config = r.data as AdaptConfig;
  configs.set(meta, config);
  return config;
}

/** The canary set: embeddings and, when the model ships the canaries' records, their features. */
export interface CanarySet {
  /** Each canary's embedding by the engine's backbone. */
  z: Float32Array[];
  /**
   * Each canary's features (for a tenant head's residual, so the guard sees what the residual does to known
   * attacks); `null` when the model ships embeddings only.
   */
  features: FeatureVector[] | null;
}

const canaries = new WeakMap<Engine, Promise<CanarySet>>();

/**
 * The embeddings of the model's canary set (attacks drawn from the training families), computed once per
 * engine. The card may carry them as embeddings (`canary: number[][]`, or objects with `z`) or as canonical
 * records (`canary: [{ method, url, ... }]`), under `canary` or `canaries`, bare or as `{ z }` / `{ records }`.
 *
 * @param engine The engine (its `meta` holds the set).
 * @returns One embedding per canary.
 * @throws {ApiError} 503 `model_unsupported` when the model ships no usable canary set.
 */
export async function canaryEmbeddings(engine: Engine): Promise<Float32Array[]> {
  return (await canarySet(engine)).z;
}

/**
 * The model's canary set with the canaries' features when it ships their records (`meta.canary.records`
 * beside `meta.canary.z`, or records alone), computed once per engine.
 *
 * @param engine The engine (its `meta` holds the set).
 * @returns Embeddings, and features or `null`.
 * @throws {ApiError} 503 `model_unsupported` when the model ships no usable canary set.
 */
export function canarySet(engine: Engine): Promise<CanarySet> {
  let got = canaries.get(engine);
  if (!got) {
    got = readCanarySet(engine);
    canaries.set(engine, got);
    got.catch(() => canaries.delete(engine));
  }
  return got;
}

async function readCanarySet(engine: Engine): Promise<CanarySet> {
  const z = await readCanaries(engine);
  const c = engine.meta.canary ?? engine.meta.canaries;
  // Records beside the embeddings (`{ z, records }`), or the set itself as records.
  const records = Array.isArray(c)
    ? c
    : c !== null && typeof c === "object"
    ? (c as { records?: unknown }).records
    : undefined;
  if (!Array.isArray(records) || records.length !== z.length) return { z, features: null };
  const features: FeatureVector[] = [];
  for (const item of records) {
    const rec = parseRecord(item);
    if (!rec.ok) return { z, features: null };
    features.push(featuresOfRecord(rec.record));
  }
  return { z, features };
}

async function readCanaries(engine: Engine): Promise<Float32Array[]> {
  const meta = engine.meta, Z = meta.embedDim;
  const unsupported = (why: string) =>
    new ApiError(503, "model_unsupported", `model ${meta.modelId}: ${why}: the guard cannot check heads`);
  let set: unknown = meta.canary ?? meta.canaries;
  if (set !== null && typeof set === "object" && !Array.isArray(set)) {
    const o = set as Record<string, unknown>;
    set = o.z ?? o.records ?? o.embeddings;
  }
  if (!Array.isArray(set) || set.length === 0) throw unsupported("it ships no canary set (meta.canary)");
  if (set.length > MAX_CANARIES) throw unsupported(`its canary set has over ${MAX_CANARIES} entries`);
  const out: Float32Array[] = [];
  for (const [i, item] of set.entries()) {
    const vec = Array.isArray(item)
      ? item
      : item !== null && typeof item === "object" && Array.isArray((item as { z?: unknown }).z)
      ? (item as { z: unknown[] }).z
      : undefined;
    if (vec !== undefined) {
      if (vec.length !== Z || !vec.every((x) => typeof x === "number" && Number.isFinite(x))) {
        throw unsupported(`canary ${i} is not an embedding of ${Z} numbers`);
      }
      out.push(Float32Array.from(vec as number[]));
      continue;
    }
    const rec = parseRecord(item);
    if (!rec.ok) throw unsupported(`canary ${i} is neither an embedding nor a record (${rec.error})`);
    out.push((await engine.embed(featuresOfRecord(rec.record))).slice());
  }
  return out;
}
