/**
 * The worker's guard against train/serve skew: a model runs only on features of the spec it was trained on.
 *
 * @module
 */
import { DENSE_DIM, FEATURE_SPEC, type FeatureSpec, specId } from "../features/spec.ts";
import type { ModelMeta } from "./types.ts";

/** A model trained for another feature spec than the one this build extracts. */
export class ModelSpecMismatchError extends Error {
  /** Always `ModelSpecMismatchError`. */
  override name = "ModelSpecMismatchError";
}

/**
 * Checks that a model was trained for a feature spec: same spec id, same D and Dd.
 *
 * @param meta The model's card.
 * @param spec The spec the caller extracts features with (default: the shipped `FEATURE_SPEC`).
 * @throws {ModelSpecMismatchError} naming both spec ids (or both dimensions).
 * @example
 * ```ts
 * import { checkModelSpec } from "./spec_check.ts";
 * import { readModelMeta } from "./onnx/read.ts";
 * checkModelSpec(readModelMeta(await Deno.readFile("models/taugate.onnx")));
 * ```
 */
export function checkModelSpec(meta: ModelMeta, spec: Readonly<FeatureSpec> = FEATURE_SPEC): void {
  const want = specId(spec);
  if (meta.specId !== want) {
    throw new ModelSpecMismatchError(
      `model ${meta.modelId} was trained for feature spec ${meta.specId}, but features are extracted with ` +
        `spec ${want}: ship a model trained for ${want}`,
    );
  }
  if (meta.dim !== spec.dim || meta.denseDim !== DENSE_DIM) {
    throw new ModelSpecMismatchError(
      `model ${meta.modelId} has D=${meta.dim}, Dd=${meta.denseDim} but spec ${want} gives D=${spec.dim}, ` +
        `Dd=${DENSE_DIM}`,
    );
  }
}
