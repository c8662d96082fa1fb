/**
 * The TypeScript engine: a plain forward pass over a model's (dequantised) float32 weights. It runs anywhere
 * without WebAssembly, serves as the reference the ORT engine checks itself against, and is often faster for
 * one request at a time since the first layer only touches the rows of the request's non-zero features.
 *
 * @module
 */
import { scoreWithHead } from "../heads/score.ts";
import { checkFeatures, checkModelParts } from "./check.ts";
import { readModelOnnx } from "./onnx/read.ts";
import type {
  BackboneWeights,
  HeadParams,
  ModelMeta,
  ModelParts,
  ScoringEngine,
  SparseFeatures,
} from "./types.ts";

/** The TypeScript engine, with synchronous forms of its calls. */
export interface TsEngine extends ScoringEngine {
  /** Always `ts`. */
  readonly kind: "ts";
  /** The float32 weights it runs (dequantised if the model is int8). */
  readonly weights: BackboneWeights;
  /**
   * The embedding z, synchronously. The array is reused by the next call: copy it to keep it.
   *
   * @throws {RangeError} on malformed features.
   */
  embedSync(features: SparseFeatures): Float32Array;
  /**
   * The global head's score, synchronously.
   *
   * @throws {RangeError} on malformed features.
   */
  scoreSync(features: SparseFeatures): number;
}

const f32 = Math.fround;

/**
 * Creates the TypeScript engine of an ONNX model.
 *
 * @param modelBytes The ONNX file's bytes (as `buildModelOnnx` writes them).
 * @returns The engine.
 * @throws {ModelFormatError} if the bytes are not a taugate model.
 * @example
 * ```ts
 * import { createTsEngine } from "./ts_engine.ts";
 * import { buildModelOnnx } from "./onnx/write.ts";
 * import { randomModel } from "./random.ts";
 * const m = randomModel(1, { dim: 64, denseDim: 2, hidden: 8, layers: [{ outDim: 4, activation: "tanh" }], specId: "x" });
 * const engine = createTsEngine(buildModelOnnx(m.weights, m.head, m.meta, { quantize: "int8" }));
 * const z = await engine.embed({ indices: new Int32Array([3, 9]), values: new Float32Array([0.5, 1]), dense: new Float32Array(2) });
 * console.log(z.length); // 4
 * ```
 */
export function createTsEngine(modelBytes: Uint8Array): TsEngine {
  return createTsEngineFromModel(readModelOnnx(modelBytes));
}

/**
 * Creates the TypeScript engine of a model in memory (e.g. `randomModel`, or training's weights).
 *
 * @param model Weights, global head and card; the weights are used as they are, not copied.
 * @returns The engine.
 * @throws {RangeError} if the parts disagree (see `checkModelParts`).
 */
export function createTsEngineFromModel(model: ModelParts): TsEngine {
  const Z = checkModelParts(model);
  const w = model.weights;
  const { dim: D, denseDim: Dd, hidden: H, W1, Wd, b1, layers } = w;
  const head: HeadParams = { w: Float32Array.from(model.head.w), b: f32(model.head.b) };
  let widest = H;
  for (const l of layers) widest = Math.max(widest, l.outDim);
  // Scratch reused by every call: two accumulators and two activations, ping-ponged between layers.
  const sparse = new Float32Array(H), dense = new Float32Array(H);
  let cur = new Float32Array(widest), nxt = new Float32Array(widest);
  const z = new Float32Array(Z);

  // Float32 arithmetic in onnxruntime's order (MatMul with one row: a running sum over k of rounded
  // products, per output), so both engines agree to the last bit on the linear parts. Adding the product of
  // a zero input leaves a sum unchanged, which is why skipping zeros changes nothing.
  const embedSync = (f: SparseFeatures): Float32Array => {
    const nnz = checkFeatures(f, D, Dd);
    const { indices, values } = f, x = f.dense;
    sparse.fill(0);
    dense.fill(0);
    for (let k = 0; k < nnz; k++) {
      const v = values[k];
      if (v === 0) continue;
      const base = indices[k] * H;
      for (let j = 0; j < H; j++) sparse[j] += f32(v * W1[base + j]);
    }
    for (let i = 0; i < Dd; i++) {
      const v = x[i];
      if (v === 0) continue;
      const base = i * H;
      for (let j = 0; j < H; j++) dense[j] += f32(v * Wd[base + j]);
    }
    for (let j = 0; j < H; j++) {
      const pre = f32(f32(sparse[j] + dense[j]) + b1[j]);
      cur[j] = pre > 0 ? pre : 0;
    }
    let width = H;
    for (let l = 0; l < layers.length; l++) {
      const layer = layers[l];
      const out = layer.outDim, W = layer.W, b = layer.b;
      nxt.fill(0, 0, out);
      for (let i = 0; i < width; i++) {
        const v = cur[i];
        if (v === 0) continue;
        const base = i * out;
        for (let j = 0; j < out; j++) nxt[j] += f32(v * W[base + j]);
      }
      const act = layer.activation;
      for (let j = 0; j < out; j++) {
        const pre = f32(nxt[j] + b[j]);
        nxt[j] = act === "relu" ? (pre > 0 ? pre : 0) : act === "tanh" ? Math.tanh(pre) : pre;
      }
      const t = cur;
      cur = nxt;
      nxt = t;
      width = out;
    }
    for (let j = 0; j < Z; j++) z[j] = cur[j];
    return z;
  };

  return {
    kind: "ts",
    meta: model.meta as ModelMeta,
    head,
    weights: w,
    embedSync,
    scoreSync: (f) => scoreWithHead(head, embedSync(f)),
    embed: (f) => {
      try {
        return Promise.resolve(embedSync(f));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    embedAndScore: (f) => {
      try {
        const out = embedSync(f);
        return Promise.resolve({ z: out, score: scoreWithHead(head, out) });
      } catch (e) {
        return Promise.reject(e);
      }
    },
  };
}
