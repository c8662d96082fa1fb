/**
 * Checks shared by the writer, the reader and the engines: a model's parts are consistent, and a request's
 * features fit the model. Both throw a `RangeError` that names the first problem.
 *
 * @module
 */
import type { Activation, ModelParts, SparseFeatures } from "./types.ts";

const ACTIVATIONS: readonly Activation[] = ["relu", "tanh", "none"];

function posInt(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 1 << 24) {
    throw new RangeError(`model: ${what} must be a positive integer, got ${v}`);
  }
  return v;
}

function floats(a: unknown, n: number, what: string): void {
  if (!(a instanceof Float32Array)) throw new RangeError(`model: ${what} must be a Float32Array`);
  if (a.length !== n) throw new RangeError(`model: ${what} must have ${n} values, got ${a.length}`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(a[i])) throw new RangeError(`model: ${what}[${i}] is not finite (${a[i]})`);
  }
}

/**
 * Checks that a model's weights, head and meta agree: every shape chains, every weight is finite, the meta's
 * dimensions are the weights' and its head has Z weights.
 *
 * @param parts The model.
 * @returns The embedding dimension Z.
 * @throws {RangeError} naming the first inconsistency.
 * @example
 * ```ts
 * import { checkModelParts } from "./check.ts";
 * import { randomModel } from "./random.ts";
 * const Z = checkModelParts(randomModel(1, { dim: 64, denseDim: 4, hidden: 8, layers: [], specId: "x" }));
 * console.log(Z); // 8
 * ```
 */
export function checkModelParts(parts: ModelParts): number {
  const { weights: w, head, meta } = parts;
  const D = posInt(w.dim, "weights.dim"), Dd = posInt(w.denseDim, "weights.denseDim");
  const H = posInt(w.hidden, "weights.hidden");
  floats(w.W1, D * H, "weights.W1");
  floats(w.Wd, Dd * H, "weights.Wd");
  floats(w.b1, H, "weights.b1");
  if (!Array.isArray(w.layers)) throw new RangeError("model: weights.layers must be an array");
  let width = H;
  for (const [l, layer] of w.layers.entries()) {
    if (layer.inDim !== width) {
      throw new RangeError(
        `model: layers[${l}].inDim is ${layer.inDim} but the previous layer gives ${width}`,
      );
    }
    const out = posInt(layer.outDim, `layers[${l}].outDim`);
    floats(layer.W, width * out, `layers[${l}].W`);
    floats(layer.b, out, `layers[${l}].b`);
    if (!ACTIVATIONS.includes(layer.activation)) {
      throw new RangeError(`model: layers[${l}].activation must be one of ${ACTIVATIONS.join(", ")}`);
    }
    width = out;
  }
  floats(head.w, width, "head.w");
  if (!Number.isFinite(head.b)) throw new RangeError(`model: head.b is not finite (${head.b})`);
  if (typeof meta !== "object" || meta === null) throw new RangeError("model: meta must be an object");
  for (const [k, v] of [["dim", D], ["denseDim", Dd], ["embedDim", width]] as const) {
    if (meta[k] !== v) throw new RangeError(`model: meta.${k} is ${meta[k]} but the weights give ${v}`);
  }
  if (typeof meta.modelId !== "string" || meta.modelId === "") {
    throw new RangeError("model: meta.modelId must be a non-empty string");
  }
  if (typeof meta.specId !== "string" || meta.specId === "") {
    throw new RangeError("model: meta.specId must be a non-empty string");
  }
  if (typeof meta.tau !== "number" || !(meta.tau >= 0 && meta.tau <= 1)) {
    throw new RangeError(`model: meta.tau must be a number in [0, 1], got ${meta.tau}`);
  }
  return width;
}

/**
 * Checks a request's features against a model's dimensions, cheaply enough for the hot path: `nnz` within
 * the arrays, every index in `[0, D)`, every value finite, the dense block of length Dd and finite.
 *
 * @param f The features.
 * @param dim D.
 * @param denseDim Dd.
 * @returns The number of sparse entries to use.
 * @throws {RangeError} naming the first problem.
 */
export function checkFeatures(f: SparseFeatures, dim: number, denseDim: number): number {
  const { indices, values, dense } = f;
  if (
    !(indices instanceof Int32Array) || !(values instanceof Float32Array) || !(dense instanceof Float32Array)
  ) {
    throw new RangeError("features: indices must be an Int32Array, values and dense Float32Arrays");
  }
  const nnz = f.nnz ?? indices.length;
  if (!Number.isInteger(nnz) || nnz < 0 || nnz > indices.length || nnz > values.length) {
    throw new RangeError(
      `features: nnz ${nnz} must be an integer within the arrays (${indices.length} indices, ${values.length} values)`,
    );
  }
  if (dense.length !== denseDim) {
    throw new RangeError(
      `features: the dense block has ${dense.length} values, the model expects ${denseDim}`,
    );
  }
  for (let k = 0; k < nnz; k++) {
    const i = indices[k], v = values[k];
    if (i < 0 || i >= dim) throw new RangeError(`features: index ${i} at ${k} is outside [0, ${dim})`);
    if (v - v !== 0) throw new RangeError(`features: value at ${k} is not finite (${v})`);
  }
  for (let k = 0; k < denseDim; k++) {
    if (dense[k] - dense[k] !== 0) throw new RangeError(`features: dense[${k}] is not finite (${dense[k]})`);
  }
  return nnz;
}
