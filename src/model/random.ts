/**
 * Deterministic random models for tests across the project: the same seed and shape give the same weights
 * on every runtime.
 *
 * @module
 */
import { DENSE_DIM, FEATURE_SPEC, type FeatureSpec, specId } from "../features/spec.ts";
import type { Activation, DenseLayer, ModelParts } from "./types.ts";

/**
 * The input shape and spec id of a model for `spec` (default: this build's), for `randomModel`'s options.
 *
 * @example
 * ```ts
 * import { randomModel, specShape } from "./random.ts";
 * const m = randomModel(1, { ...specShape(), hidden: 8, layers: [{ outDim: 4, activation: "tanh" }] });
 * ```
 */
export function specShape(
  spec: Readonly<FeatureSpec> = FEATURE_SPEC,
): { dim: number; denseDim: number; specId: string } {
  return { dim: spec.dim, denseDim: DENSE_DIM, specId: specId(spec) };
}

/** The shape of a random model. */
export interface RandomModelOptions {
  /** D: sparse input dimension (pass the feature spec's `dim`; never hard-code it). */
  dim: number;
  /** Dd: dense input dimension (`DENSE_DIM`). */
  denseDim: number;
  /** H1: width of the first layer. */
  hidden: number;
  /** Further layers; the last one's output is z (none: z is the first layer's output). */
  layers: { outDim: number; activation: Activation }[];
  /** The feature spec id written in the card. */
  specId: string;
  /** Default `random-<seed>`. */
  modelId?: string;
  /** Default 0.5. */
  tau?: number;
}

/** A small deterministic generator (mulberry32) with Gaussian draws (Box–Muller). */
export function prng(seed: number): { uniform(): number; normal(): number } {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => {
    const u = 1 - uniform(); // (0, 1]
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
  return { uniform, normal };
}

/**
 * A random model with realistic scales: pre-activations of order 1 for feature vectors like the extractor's
 * (a few unit-norm groups of sparse values, a dense block in [0, 1]) and a head whose scores spread over
 * (0, 1).
 *
 * @param seed Any integer; the same seed gives the same model.
 * @param options The shape and the card's spec id.
 * @returns Weights, global head and card.
 * @throws {RangeError} on a non-positive or non-integer dimension.
 * @example
 * ```ts
 * import { randomModel } from "./random.ts";
 * const m = randomModel(7, { dim: 4096, denseDim: 40, hidden: 32, layers: [{ outDim: 16, activation: "tanh" }], specId: "tgfs1-x" });
 * console.log(m.meta.embedDim); // 16
 * ```
 */
export function randomModel(seed: number, options: RandomModelOptions): ModelParts {
  const { dim, denseDim, hidden } = options;
  for (const [k, v] of [["dim", dim], ["denseDim", denseDim], ["hidden", hidden]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`randomModel: ${k} must be a positive integer, got ${v}`);
    }
  }
  const rng = prng(seed);
  // Uniform with the given standard deviation, as PyTorch's default init of linear layers.
  const init = (n: number, sd: number) => {
    const a = new Float32Array(n), half = sd * Math.sqrt(3);
    for (let i = 0; i < n; i++) a[i] = (2 * rng.uniform() - 1) * half;
    return a;
  };
  // Sparse inputs have an L2 norm of ~3 (a few unit-norm groups): sd 1/3 gives pre-activations of ~1.
  const W1 = init(dim * hidden, 1 / 3);
  const Wd = init(denseDim * hidden, 1 / Math.sqrt(denseDim));
  const b1 = init(hidden, 0.1);
  const layers: DenseLayer[] = [];
  let width = hidden;
  for (const [l, { outDim, activation }] of options.layers.entries()) {
    if (!Number.isInteger(outDim) || outDim < 1) {
      throw new RangeError(`randomModel: layers[${l}].outDim must be a positive integer, got ${outDim}`);
    }
    // He-style scale for relu inputs (half of them are zero).
    layers.push({
      inDim: width,
      outDim,
      W: init(width * outDim, Math.sqrt(2 / width)),
      b: init(outDim, 0.1),
      activation,
    });
    width = outDim;
  }
  const w = init(width, 2 / Math.sqrt(width));
  const b = Math.fround(rng.normal() * 0.5);
  return {
    weights: { dim, denseDim, hidden, W1, Wd, b1, layers },
    head: { w, b },
    meta: {
      modelId: options.modelId ?? `random-${seed}`,
      specId: options.specId,
      dim,
      denseDim,
      embedDim: width,
      tau: options.tau ?? 0.5,
      head: { w: Array.from(w), b },
    },
  };
}
