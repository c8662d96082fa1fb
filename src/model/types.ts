/**
 * The model contract shared by training (which writes models), the engines (which run them) and the worker.
 *
 * A model is a backbone that maps a request's features to an embedding z, plus a global head on z:
 *
 * ```
 * h1 = relu(Σ_k values[k]·W1[indices[k], :] + dense·Wd + b1)        sparse first layer, [D, H1] and [Dd, H1]
 * h  = act_l(h·W_l + b_l)  for each further layer l                   the last layer's output is z, [Z]
 * score = σ(w·z + b)                                                  the global head (the meta-learned init)
 * ```
 *
 * The ONNX form (opset 13) has inputs `indices` (int32 [N], N ≥ 1), `values` (float32 [1, N]) and `dense`
 * (float32 [1, Dd]), and outputs `z` (float32 [1, Z]) and `score` (float32 [1, 1]). Weight matrices are
 * int8, symmetric, per output channel, stored as QDQ (`DequantizeLinear` of an int8 initializer, folded at
 * session creation). `ModelMeta` travels in the ONNX `metadata_props` under the key `taugate`.
 *
 * @module
 */

/** Activation of a dense layer. */
export type Activation = "relu" | "tanh" | "none";

/** A dense layer: `out = act(in · W + b)`, W row-major `[inDim][outDim]`. */
import type { ValueProfile } from "../heads/value_profile.ts";

export interface DenseLayer {
  /** Width of its input (the previous layer's `outDim`, or H1 for the first). */
  inDim: number;
  /** Width of its output; the last layer's is Z. */
  outDim: number;
  /** `[inDim][outDim]`, row-major. */
  W: Float32Array;
  /** The bias, `[outDim]`. */
  b: Float32Array;
  /** Applied after `in · W + b`. */
  activation: Activation;
}

/** The backbone's weights, float32 (training's form, and what an engine holds after dequantisation). */
export interface BackboneWeights {
  /** D: sparse input dimension (the feature spec's `dim`). */
  dim: number;
  /** Dd: dense input dimension. */
  denseDim: number;
  /** H1: width of the first layer. */
  hidden: number;
  /** `[dim][hidden]`, row-major: row i is bucket i's contribution. */
  W1: Float32Array;
  /** `[denseDim][hidden]`, row-major. */
  Wd: Float32Array;
  /** `[hidden]`. */
  b1: Float32Array;
  /** The first layer's activation is relu; these follow it. The last layer's output is z. */
  layers: DenseLayer[];
}

/**
 * A site's structural profile (see `src/heads/site_profile.ts`): a Bloom filter of the structure tokens
 * (methods, path shapes, parameter names and shapes, header and cookie names, body kinds) its normal
 * traffic uses.
 */
export interface SiteProfile {
  /** The Bloom filter; its length in bits is a power of two. */
  bits: Uint8Array;
  /** Requests it was built from (labelled benign and unlabelled). */
  requests: number;
  /** Distinct tokens it holds. */
  tokens: number;
  /** A token is normal once seen in this many of those requests. */
  minCount: number;
  /** The novelty features' scale, `requests / (requests + confidence)`: a small profile speaks softly. */
  weight: number;
}

/**
 * A logistic head on z: `score = σ(w·z + b)`. A tenant head adapted with a site profile also weighs how
 * unusual the request is for the site: `score = σ(w·z + b + a·n)`, where `n` are the request's novelty
 * features against `profile` (one per kind of structure token, see `noveltyFeatures`); `a` and `profile`
 * come together or not at all. The global head has no profile.
 */
export interface HeadParams {
  /** Weights on z (`embedDim` entries). */
  w: Float32Array;
  /** The bias of the logit. */
  b: number;
  /** Weights of the novelty features (`NOVELTY_DIM`, non-negative). */
  a?: Float32Array;
  /** The site's structural profile. */
  profile?: SiteProfile;
  /** Residual over the hashed features: sorted indices (`heads/residual.ts`). */
  ri?: Int32Array;
  /** Their weights. */
  rv?: Float32Array;
  /** Residual over the dense block. */
  rd?: Float32Array;
  /**
   * A correction's endpoints (sorted hashes of method and path shape, `FeatureVector.params[0]`): its
   * residual applies to requests of these endpoints only (`heads/residual.ts`, `residualApplies`).
   */
  re?: Int32Array;
  /**
   * A correction's support: a bitmap of the uploaded requests' hashed features (`dim / 8` bytes); with `rg`,
   * its residual is scaled by how much of a request is made of them (`heads/residual.ts`, `residualGate`).
   */
  rs?: Uint8Array;
  /** The support gate's `[from, to]` (with `rs`). */
  rg?: Float32Array;
  /**
   * A correction's bounds (with `rs`): the uploaded requests' largest value of each dense evidence count
   * (`heads/residual.ts`, `CORRECTION_BOUNDED`); a request above one gets no residual.
   */
  rb?: Float32Array;
  /**
   * A correction's shape (with `rs`): per endpoint, the names its uploaded requests sent and their values'
   * character classes, as sorted `[endpoint, name, classes | flags]` triples
   * (`heads/residual.ts`, `correctionShape`); a request of another shape gets no residual.
   */
  rp?: Int32Array;
  /** Weights of the value features (`VALUE_DIM`, non-negative; with `values` and `profile`). */
  av?: Float32Array;
  /** The site's value profile (`heads/value_profile.ts`); its features are scaled by `profile.weight`. */
  values?: ValueProfile;
}

/** What a model carries besides weights (ONNX `metadata_props["taugate"]`, JSON). */
export interface ModelMeta {
  /** e.g. `taugate-2026-11-29-3f9a`; shown in the `x-taugate-model` header. */
  modelId: string;
  /** The feature spec id the model was trained with; the worker refuses a model whose id differs. */
  specId: string;
  /** D: sparse input dimension (the feature spec's `dim`). */
  dim: number;
  /** Dd: dense input dimension (`DENSE_DIM` of the spec). */
  denseDim: number;
  /** Z. */
  embedDim: number;
  /** Default decision threshold on the score. */
  tau: number;
  /** The global head (the meta-learned head init), as plain numbers. */
  head: { w: number[]; b: number };
  /** Anything else training ships with the model (adaptation settings, canary set, ...). */
  [key: string]: unknown;
}

/** A request's features as an engine consumes them: the first `nnz` (default: all) entries are used. */
export interface SparseFeatures {
  /** Hashed buckets in `[0, D)` (the extractor gives them sorted and unique). */
  indices: Int32Array;
  /** Their values (finite), entry for entry with `indices`. */
  values: Float32Array;
  /** The dense block of structural numbers, `[Dd]`. */
  dense: Float32Array;
  /** Entries of `indices` and `values` used (default: all). */
  nnz?: number;
}

/** Runs a model's backbone. One per isolate; it serves every tenant. */
export interface Engine {
  /** `ort` (onnxruntime-web, WASM) or `ts` (TypeScript forward pass over the same weights). */
  readonly kind: "ort" | "ts";
  /** The model's card, read from the ONNX file. */
  readonly meta: ModelMeta;
  /**
   * The embedding z of one request. The array may be reused by the engine's next call: copy it to keep it.
   */
  embed(features: SparseFeatures): Promise<Float32Array>;
  /**
   * The same, computed synchronously, when the engine can (the TypeScript engine); callers use it to skip an
   * `await`. The same reuse rule holds.
   */
  embedSync?(features: SparseFeatures): Float32Array;
}

/** A whole model in memory: what training exports and what `readModelOnnx` and `randomModel` return. */
export interface ModelParts {
  /** The backbone's float32 weights. */
  weights: BackboneWeights;
  /** The global head (the meta-learned head init); `meta.head` holds the same numbers. */
  head: HeadParams;
  /** The model's card. */
  meta: ModelMeta;
}

/** An engine that also scores with the model's global head (tests, canaries, the default tenant). */
export interface ScoringEngine extends Engine {
  /** The global head, as float32. */
  readonly head: HeadParams;
  /**
   * The embedding z and the global head's score `σ(w·z + b)`. `z` may be reused by the next call.
   *
   * @throws {RangeError} on malformed features (see `checkFeatures`).
   */
  embedAndScore(features: SparseFeatures): Promise<{ z: Float32Array; score: number }>;
}
