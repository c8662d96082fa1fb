/**
 * Models for evaluation, loaded from their ONNX files and run as the worker runs them: the TypeScript engine
 * over the (dequantised) weights gives z, `adaptHead` with the model's `meta.adapt` fits tenant heads.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import type { AdaptConfig, Anchor } from "@taugate/heads/adapt.ts";
import { adaptConfigOf } from "@taugate/api/model.ts";
import { type EvalMethod, headMethod } from "./fewshot.ts";
import { featuresOfRecord } from "@taugate/features/mod.ts";
import type { RequestRecord } from "@taugate/record/record.ts";
import { createTsEngineFromModel, type TsEngine } from "@taugate/model/ts_engine.ts";
import { type ReadModel, readModelOnnx } from "@taugate/model/onnx/read.ts";
import type { HeadParams, ModelMeta } from "@taugate/model/types.ts";
import type { FeatureSet } from "../nn/features.ts";
import { rowFeatures } from "../nn/features.ts";

/** A loaded model. */
export interface LoadedModel {
  path: string;
  model: ReadModel;
  engine: TsEngine;
  head: HeadParams;
  adapt: AdaptConfig;
  tau: number;
  /**
   * The canary embeddings it ships (`meta.canary.z`), or its canary records' embeddings, for adapted heads'
   * τ; `null` when it ships neither.
   */
  canaries: Float32Array[] | null;
  /** The canaries with their features (`meta.canary.records`), a residual head's anchors; empty without. */
  anchors: Anchor[];
}

/**
 * The canaries as anchors: the records the model ships (`meta.canary.records`) with their features and
 * embeddings (through the engine, as the tenant API embeds them); empty when it ships none.
 */
export function anchorsOf(meta: ReadModel["meta"], engine: TsEngine): Anchor[] {
  const records = (meta.canary as { records?: unknown } | undefined)?.records;
  if (!Array.isArray(records)) return [];
  return records.map((r) => {
    const features = featuresOfRecord(r as RequestRecord);
    return { z: engine.embedSync(features).slice(), features };
  });
}

/** The canary embeddings a model ships as `meta.canary.z` (what the tenant API matches heads' τ on). */
export function canariesOf(meta: ReadModel["meta"]): Float32Array[] | null {
  const c = meta.canary as { z?: unknown } | undefined;
  if (!c || !Array.isArray(c.z) || c.z.length === 0) return null;
  return (c.z as number[][]).map((v) => Float32Array.from(v));
}

/**
 * The adaptation settings a model ships, read as the tenant API reads them (`adaptConfigOf`: the defaults of
 * settings the model predates), or the plain defaults for a model without them.
 */
export function adaptOf(meta: ReadModel["meta"]): AdaptConfig {
  const a = meta.adapt as AdaptConfig | undefined;
  if (!a || typeof a !== "object" || typeof a.steps !== "number") {
    return { method: "gd", steps: 20, lr: 0.5, prox: 0.02 };
  }
  return adaptConfigOf(meta as ModelMeta);
}

/** Loads an ONNX model file. @throws {ModelFormatError} if it is not a taugate model. */
export function loadModel(path: string): LoadedModel {
  const model = readModelOnnx(new Uint8Array(readFileSync(path)));
  const engine = createTsEngineFromModel(model);
  const anchors = anchorsOf(model.meta, engine);
  return {
    path,
    model,
    engine,
    head: engine.head,
    adapt: adaptOf(model.meta),
    tau: model.meta.tau,
    canaries: canariesOf(model.meta) ?? (anchors.length > 0 ? anchors.map((a) => a.z) : null),
    anchors,
  };
}

/** z of every row of a feature set, through the engine (`[n][Z]`). */
export function embedWithEngine(
  engine: TsEngine,
  set: FeatureSet,
): Float32Array {
  const Z = engine.meta.embedDim, out = new Float32Array(set.n * Z);
  for (let r = 0; r < set.n; r++) {
    out.set(engine.embedSync(rowFeatures(set, r)), r * Z);
  }
  return out;
}

/**
 * A loaded model as an evaluation method: embedded by its own engine, adapted as the worker adapts it (its
 * canaries for τ and anchors), with `adapt` in place of its `meta.adapt` for ablations.
 *
 * @param name The method's name in the results.
 * @param m The model.
 * @param adapt The adaptation settings (default: the model's own).
 */
export function modelMethod(name: string, m: LoadedModel, adapt: AdaptConfig = m.adapt): EvalMethod {
  return headMethod(
    name,
    (set) => embedWithEngine(m.engine, set),
    m.head,
    adapt,
    m.tau,
    m.canaries,
    m.anchors,
  );
}
