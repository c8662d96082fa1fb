/**
 * Writes a backbone and its global head as an ONNX model (IR 8, opset 13), int8 or float32.
 *
 * ```
 * W1 = DequantizeLinear(W1_q, W1_scale, W1_zero_point, axis=1)      int8 [D, H1] → float [D, H1]
 * G  = Gather(W1, indices, axis=0)                                   [N, H1]
 * h1 = Relu((MatMul(values, G) + MatMul(dense, Wd)) + b1)            [1, H1]
 * h  = act(MatMul(h, W_l) + b_l) for each layer; the last is z       [1, Z]
 * score = Sigmoid(MatMul(z, head_w) + head_b)                        [1, 1]
 * ```
 *
 * With `quantize: "none"` every weight is a float32 initializer and there is no DequantizeLinear. Biases and
 * the head stay float32 either way (a few hundred bytes).
 *
 * @module
 */
import { checkModelParts } from "../check.ts";
import { quantizeMatrix } from "../quantize.ts";
import type { BackboneWeights, HeadParams, ModelMeta } from "../types.ts";
import {
  DIM_N,
  IN_DENSE,
  IN_INDICES,
  IN_VALUES,
  IR_VERSION,
  layerName,
  META_KEY,
  OPSET,
  OUT_SCORE,
  OUT_Z,
  PRODUCER,
  weightNames,
} from "./_graph.ts";
import { AttributeType, DataType, encodeModel, type NodeProto, type TensorProto } from "./proto.ts";

/** Options of `buildModelOnnx`. */
export interface BuildOptions {
  /** `int8`: symmetric per-output-channel int8 weights (QDQ); `none`: float32 weights. */
  quantize: "int8" | "none";
  /** Written as the ONNX producer version (default `"1"`). */
  producerVersion?: string;
}

function floatBytes(a: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) view.setFloat32(i * 4, a[i], true);
  return out;
}

function floatTensor(name: string, dims: number[], data: ArrayLike<number>): TensorProto {
  return { name, dataType: DataType.FLOAT, dims, rawData: floatBytes(data) };
}

function node(
  opType: string,
  inputs: string[],
  output: string,
  attrs: Record<string, number> = {},
): NodeProto {
  return {
    name: `${opType}_${output}`,
    opType,
    inputs,
    outputs: [output],
    attributes: Object.entries(attrs).map(([name, i]) => ({ name, type: AttributeType.INT, i })),
  };
}

/**
 * Builds the ONNX model of a backbone and its global head.
 *
 * `meta` is stored as JSON under `metadata_props["taugate"]`, with `meta.head` replaced by `head` rounded to
 * float32 (so the card and the graph hold the same numbers).
 *
 * @param weights The backbone, float32.
 * @param head The global head (the meta-learned head init).
 * @param meta The model's card; its `dim`, `denseDim` and `embedDim` must be the weights'.
 * @param options `quantize: "int8" | "none"`.
 * @returns The ONNX file's bytes.
 * @throws {RangeError} if the weights, head and meta disagree or a weight is not finite.
 * @example
 * ```ts
 * import { buildModelOnnx } from "./write.ts";
 * import { randomModel } from "../random.ts";
 * const m = randomModel(1, { dim: 64, denseDim: 4, hidden: 8, layers: [{ outDim: 4, activation: "tanh" }], specId: "x" });
 * const bytes = buildModelOnnx(m.weights, m.head, m.meta, { quantize: "int8" });
 * console.log(bytes.length > 0); // true
 * ```
 */
export function buildModelOnnx(
  weights: BackboneWeights,
  head: HeadParams,
  meta: ModelMeta,
  options: BuildOptions,
): Uint8Array {
  if (options?.quantize !== "int8" && options?.quantize !== "none") {
    throw new RangeError(
      `buildModelOnnx: options.quantize must be "int8" or "none", got ${options?.quantize}`,
    );
  }
  const Z = checkModelParts({ weights, head, meta });
  const int8 = options.quantize === "int8";
  const { dim: D, denseDim: Dd, hidden: H } = weights;
  const initializers: TensorProto[] = [];
  const dq: NodeProto[] = [];
  const body: NodeProto[] = [];

  /** Adds a weight matrix and returns the name of its float [rows, cols] value in the graph. */
  const matrix = (name: string, W: Float32Array, rows: number, cols: number): string => {
    if (!int8) {
      initializers.push(floatTensor(name, [rows, cols], W));
      return name;
    }
    const m = quantizeMatrix(W, rows, cols);
    const n = weightNames(name);
    initializers.push(
      { name: n.q, dataType: DataType.INT8, dims: [rows, cols], rawData: new Uint8Array(m.q.buffer) },
      floatTensor(n.scale, [cols], m.scale),
      { name: n.zeroPoint, dataType: DataType.INT8, dims: [cols], rawData: new Uint8Array(cols) },
    );
    dq.push(node("DequantizeLinear", [n.q, n.scale, n.zeroPoint], name, { axis: 1 }));
    return name;
  };

  const W1 = matrix("W1", weights.W1, D, H);
  const Wd = matrix("Wd", weights.Wd, Dd, H);
  initializers.push(floatTensor("b1", [H], weights.b1));
  body.push(
    node("Gather", [W1, IN_INDICES], "G", { axis: 0 }),
    node("MatMul", [IN_VALUES, "G"], "S"),
    node("MatMul", [IN_DENSE, Wd], "Sd"),
    node("Add", ["S", "Sd"], "pre1_sum"),
    node("Add", ["pre1_sum", "b1"], "pre1"),
  );
  const layers = weights.layers;
  let h = layers.length === 0 ? OUT_Z : "h1";
  body.push(node("Relu", ["pre1"], h));
  for (const [l, layer] of layers.entries()) {
    const last = l === layers.length - 1;
    const W = matrix(layerName(l, "W"), layer.W, layer.inDim, layer.outDim);
    const b = layerName(l, "b");
    initializers.push(floatTensor(b, [layer.outDim], layer.b));
    const mm = layerName(l, "mm"), pre = last && layer.activation === "none" ? OUT_Z : layerName(l, "pre");
    body.push(node("MatMul", [h, W], mm), node("Add", [mm, b], pre));
    h = pre;
    if (layer.activation !== "none") {
      h = last ? OUT_Z : layerName(l, "out");
      body.push(node(layer.activation === "relu" ? "Relu" : "Tanh", [pre], h));
    }
  }
  const hw = Float32Array.from(head.w), hb = Math.fround(head.b);
  initializers.push(floatTensor("head_w", [Z, 1], hw), floatTensor("head_b", [1], [hb]));
  body.push(
    node("MatMul", [OUT_Z, "head_w"], "head_mm"),
    node("Add", ["head_mm", "head_b"], "logit"),
    node("Sigmoid", ["logit"], OUT_SCORE),
  );

  const card: ModelMeta = { ...meta, head: { w: Array.from(hw), b: hb } };
  return encodeModel({
    irVersion: IR_VERSION,
    opsetImports: [{ domain: "", version: OPSET }],
    producerName: PRODUCER,
    producerVersion: options.producerVersion ?? "1",
    graph: {
      name: "taugate_backbone",
      nodes: [...dq, ...body],
      initializers,
      inputs: [
        { name: IN_INDICES, elemType: DataType.INT32, shape: [DIM_N] },
        { name: IN_VALUES, elemType: DataType.FLOAT, shape: [1, DIM_N] },
        { name: IN_DENSE, elemType: DataType.FLOAT, shape: [1, Dd] },
      ],
      outputs: [
        { name: OUT_Z, elemType: DataType.FLOAT, shape: [1, Z] },
        { name: OUT_SCORE, elemType: DataType.FLOAT, shape: [1, 1] },
      ],
    },
    metadataProps: [{ key: META_KEY, value: JSON.stringify(card) }],
  });
}
