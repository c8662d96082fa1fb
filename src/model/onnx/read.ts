/**
 * Reads a taugate ONNX model back into float32 weights, the global head and the model card, checking that
 * the graph is exactly the one `buildModelOnnx` writes (int8 QDQ or float32 weights).
 *
 * @module
 */
import { z } from "zod";
import { checkModelParts } from "../check.ts";
import type { Activation, BackboneWeights, DenseLayer, ModelMeta, ModelParts } from "../types.ts";
import { IN_DENSE, IN_INDICES, IN_VALUES, META_KEY, OPSET, OUT_SCORE, OUT_Z } from "./_graph.ts";
import {
  DataType,
  decodeModel,
  type Dim,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from "./proto.ts";

/** What `readModelOnnx` returns: the model, and whether its weight matrices were stored as int8. */
export interface ReadModel extends ModelParts {
  /** True if any weight matrix is int8 (QDQ); the weights returned are then dequantised. */
  quantized: boolean;
}

/** A model file that is not a taugate ONNX model, with the reason. */
export class ModelFormatError extends Error {
  /** Always `ModelFormatError`. */
  override name = "ModelFormatError";
}

const MetaSchema = z.looseObject({
  modelId: z.string().min(1),
  specId: z.string().min(1),
  dim: z.int().positive(),
  denseDim: z.int().positive(),
  embedDim: z.int().positive(),
  tau: z.number().min(0).max(1),
  head: z.object({ w: z.array(z.number()), b: z.number() }),
});

function fail(msg: string): never {
  throw new ModelFormatError(`readModelOnnx: ${msg}`);
}

function count(dims: number[], what: string): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) fail(`${what} has a bad dimension ${d}`);
    n *= d;
  }
  if (n > 1 << 26) fail(`${what} is too large (${n} elements)`);
  return n;
}

function floatsOf(t: TensorProto, n: number): Float32Array {
  if (t.dataType !== DataType.FLOAT) fail(`tensor "${t.name}" must be float32, has data type ${t.dataType}`);
  // Sizes are checked before anything is allocated: a corrupt shape must not allocate gigabytes.
  if (t.rawData) {
    if (t.rawData.length !== n * 4) {
      fail(`tensor "${t.name}" has ${t.rawData.length} bytes, expected ${n * 4}`);
    }
    const out = new Float32Array(n);
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  const data = t.floatData ?? [];
  if (data.length !== n) fail(`tensor "${t.name}" has ${data.length} values, expected ${n}`);
  return Float32Array.from(data);
}

function int8sOf(t: TensorProto, n: number): Int8Array {
  if (t.dataType !== DataType.INT8) fail(`tensor "${t.name}" must be int8, has data type ${t.dataType}`);
  if (t.rawData) {
    if (t.rawData.length !== n) fail(`tensor "${t.name}" has ${t.rawData.length} bytes, expected ${n}`);
    return new Int8Array(t.rawData.slice().buffer);
  }
  const data = t.int32Data ?? [];
  if (data.length !== n) fail(`tensor "${t.name}" has ${data.length} values, expected ${n}`);
  if (data.some((v) => v < -128 || v > 127)) fail(`tensor "${t.name}" has values outside int8`);
  return Int8Array.from(data);
}

function sameShape(a: Dim[], b: Dim[]): boolean {
  return a.length === b.length &&
    a.every((d, i) => typeof b[i] === "string" ? typeof d === "string" : d === b[i]);
}

function decode(bytes: Uint8Array): ModelProto {
  if (!(bytes instanceof Uint8Array)) fail("expected the model's bytes as a Uint8Array");
  if (bytes.length === 0) fail("the model file is empty");
  try {
    return decodeModel(bytes);
  } catch (e) {
    fail(`not an ONNX model: ${(e as Error).message}`);
  }
}

function cardOf(model: ModelProto): ModelMeta {
  const entry = model.metadataProps.find((p) => p.key === META_KEY);
  if (!entry) fail(`no metadata_props entry "${META_KEY}" (not a taugate model)`);
  let json: unknown;
  try {
    json = JSON.parse(entry.value);
  } catch (e) {
    fail(`metadata "${META_KEY}" is not JSON: ${(e as Error).message}`);
  }
  const parsed = MetaSchema.safeParse(json);
  if (!parsed.success) fail(`metadata "${META_KEY}" is not a model card: ${z.prettifyError(parsed.error)}`);
  return parsed.data as ModelMeta;
}

/**
 * Reads only a model's card (cheap: no weights are decoded or dequantised), e.g. to check its spec id
 * before creating an engine.
 *
 * @param bytes The ONNX file's bytes.
 * @returns The card from `metadata_props["taugate"]`.
 * @throws {ModelFormatError} if the bytes are not an ONNX model with a valid card.
 */
export function readModelMeta(bytes: Uint8Array): ModelMeta {
  return cardOf(decode(bytes));
}

/**
 * Reads a taugate ONNX model.
 *
 * @param bytes The ONNX file's bytes.
 * @returns Float32 weights (dequantised as onnxruntime's `DequantizeLinear` does: `float32(q - zp) · scale`),
 *   the global head from the graph, the card from `metadata_props["taugate"]`, and whether it was int8.
 * @throws {ModelFormatError} if the bytes are not a protobuf ModelProto, or the graph, its tensors or the card
 *   are not what `buildModelOnnx` writes.
 * @example
 * ```ts
 * import { buildModelOnnx } from "./write.ts";
 * import { readModelOnnx } from "./read.ts";
 * import { randomModel } from "../random.ts";
 * const m = randomModel(1, { dim: 64, denseDim: 4, hidden: 8, layers: [], specId: "x" });
 * const back = readModelOnnx(buildModelOnnx(m.weights, m.head, m.meta, { quantize: "none" }));
 * console.log(back.weights.W1.every((v, i) => v === m.weights.W1[i])); // true
 * ```
 */
export function readModelOnnx(bytes: Uint8Array): ReadModel {
  const model = decode(bytes);
  const meta = cardOf(model);
  const opset = model.opsetImports.find((o) => o.domain === "" || o.domain === "ai.onnx");
  if (!opset || opset.version < OPSET) {
    fail(`needs the default opset ≥ ${OPSET}, found ${opset?.version ?? "none"}`);
  }
  const g = model.graph;

  // Inputs and outputs.
  const io = (list: typeof g.inputs, name: string, type: number, shape: Dim[], kind: string) => {
    const v = list.find((x) => x.name === name);
    if (!v) fail(`graph ${kind} "${name}" is missing`);
    if (v.elemType !== type || !sameShape(v.shape, shape)) {
      fail(
        `graph ${kind} "${name}" must be type ${type} shape [${shape}], is type ${v.elemType} [${v.shape}]`,
      );
    }
  };
  if (g.inputs.length !== 3 || g.outputs.length !== 2) {
    fail(`the graph must have 3 inputs and 2 outputs, has ${g.inputs.length} and ${g.outputs.length}`);
  }
  io(g.inputs, IN_INDICES, DataType.INT32, ["N"], "input");
  io(g.inputs, IN_VALUES, DataType.FLOAT, [1, "N"], "input");
  io(g.inputs, IN_DENSE, DataType.FLOAT, [1, meta.denseDim], "input");
  io(g.outputs, OUT_Z, DataType.FLOAT, [1, meta.embedDim], "output");
  io(g.outputs, OUT_SCORE, DataType.FLOAT, [1, 1], "output");

  // Initializers and DequantizeLinear nodes.
  const inits = new Map<string, TensorProto>();
  for (const t of g.initializers) {
    if (inits.has(t.name)) fail(`initializer "${t.name}" appears twice`);
    inits.set(t.name, t);
  }
  const dqs = new Map<string, NodeProto>();
  const nodes: NodeProto[] = [];
  for (const n of g.nodes) {
    if (n.domain && n.domain !== "ai.onnx") fail(`node "${n.name}" is in domain "${n.domain}"`);
    if (n.outputs.length !== 1) fail(`node "${n.name}" (${n.opType}) must have one output`);
    if (n.opType === "DequantizeLinear") dqs.set(n.outputs[0], n);
    else nodes.push(n);
  }
  let quantized = false;
  const usedDq = new Set<string>();
  const attr = (n: NodeProto, name: string, dflt: number) =>
    n.attributes.find((a) => a.name === name)?.i ?? dflt;

  const init = (name: string, what: string): TensorProto => {
    const t = inits.get(name);
    if (!t) fail(`${what} "${name}" is not an initializer`);
    return t;
  };
  /** A weight vector: a float32 initializer of exactly `dims`. */
  const vector = (name: string, dims: number[], what: string): Float32Array => {
    const t = init(name, what);
    if (!sameShape(t.dims, dims)) fail(`${what} "${name}" must have shape [${dims}], has [${t.dims}]`);
    return floatsOf(t, count(dims, what));
  };
  /** A weight matrix: a float32 initializer or DequantizeLinear(int8, scale, zero point, axis=1). */
  const matrix = (name: string, what: string): { W: Float32Array; rows: number; cols: number } => {
    const dq = dqs.get(name);
    if (!dq) {
      const t = init(name, what);
      if (t.dims.length !== 2) fail(`${what} "${name}" must be a matrix, has shape [${t.dims}]`);
      return { W: floatsOf(t, count(t.dims, what)), rows: t.dims[0], cols: t.dims[1] };
    }
    if (usedDq.has(name)) fail(`${what} "${name}" is used twice`);
    usedDq.add(name);
    quantized = true;
    const [qName, scaleName, zpName] = dq.inputs;
    const q = init(qName ?? "", `${what} (int8)`);
    if (q.dims.length !== 2) fail(`${what} "${qName}" must be a matrix, has shape [${q.dims}]`);
    const [rows, cols] = q.dims;
    const axis = attr(dq, "axis", 1);
    if (axis !== 1 && axis !== -1) fail(`${what} must be dequantised per column (axis 1), has axis ${axis}`);
    const qv = int8sOf(q, count(q.dims, what));
    const scale = vector(scaleName ?? "", [cols], `${what} scale`);
    const zp = zpName ? int8sOf(init(zpName, `${what} zero point`), cols) : new Int8Array(cols);
    if (zpName && !sameShape(inits.get(zpName)!.dims, [cols])) {
      fail(`${what} zero point must have shape [${cols}]`);
    }
    const W = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) W[i * cols + j] = (qv[i * cols + j] - zp[j]) * scale[j];
    }
    return { W, rows, cols };
  };

  // The body, in order.
  let cursor = 0;
  const next = (op: string, arity: number, after: string): NodeProto => {
    const n = nodes[cursor++];
    if (!n) fail(`the graph ends after ${after}, expected ${op}`);
    if (n.opType !== op) fail(`expected ${op} after ${after}, found ${n.opType} ("${n.name}")`);
    if (n.inputs.length !== arity) {
      fail(`${op} "${n.name}" must have ${arity} inputs, has ${n.inputs.length}`);
    }
    return n;
  };
  const consumes = (n: NodeProto, i: number, name: string) => {
    if (n.inputs[i] !== name) {
      fail(`${n.opType} "${n.name}" input ${i} must be "${name}", is "${n.inputs[i]}"`);
    }
  };

  const gather = next("Gather", 2, "the start");
  consumes(gather, 1, IN_INDICES);
  if (attr(gather, "axis", 0) !== 0) fail("Gather must take rows (axis 0)");
  const w1 = matrix(gather.inputs[0], "W1");
  const mmS = next("MatMul", 2, "Gather");
  consumes(mmS, 0, IN_VALUES);
  consumes(mmS, 1, gather.outputs[0]);
  const mmD = next("MatMul", 2, "the sparse MatMul");
  consumes(mmD, 0, IN_DENSE);
  const wd = matrix(mmD.inputs[1], "Wd");
  const sum = next("Add", 2, "the dense MatMul");
  const parts = [...sum.inputs].sort().join(), expected = [mmS.outputs[0], mmD.outputs[0]].sort().join();
  if (parts !== expected) fail(`Add "${sum.name}" must add the sparse and dense products`);
  const addB1 = next("Add", 2, "the first sum");
  consumes(addB1, 0, sum.outputs[0]);
  const relu = next("Relu", 1, "b1");
  consumes(relu, 0, addB1.outputs[0]);
  const D = w1.rows, H = w1.cols;
  if (wd.cols !== H) fail(`Wd has ${wd.cols} columns but W1 has ${H}`);
  const b1 = vector(addB1.inputs[1], [H], "b1");

  const layers: DenseLayer[] = [];
  let h = relu.outputs[0], width = H;
  while (h !== OUT_Z) {
    const l = layers.length;
    const mm = next("MatMul", 2, `layer ${l}'s input`);
    consumes(mm, 0, h);
    const { W, rows, cols } = matrix(mm.inputs[1], `layers[${l}].W`);
    if (rows !== width) fail(`layers[${l}].W has ${rows} rows, its input has ${width} values`);
    const add = next("Add", 2, `layers[${l}] MatMul`);
    consumes(add, 0, mm.outputs[0]);
    const b = vector(add.inputs[1], [cols], `layers[${l}].b`);
    h = add.outputs[0];
    let activation: Activation = "none";
    const act = nodes[cursor];
    if (act && (act.opType === "Relu" || act.opType === "Tanh") && act.inputs[0] === h) {
      cursor++;
      activation = act.opType === "Relu" ? "relu" : "tanh";
      h = act.outputs[0];
    }
    layers.push({ inDim: width, outDim: cols, W, b, activation });
    width = cols;
  }
  const headMm = next("MatMul", 2, "z");
  consumes(headMm, 0, OUT_Z);
  const headW = vector(headMm.inputs[1], [width, 1], "head_w");
  const headAdd = next("Add", 2, "the head MatMul");
  consumes(headAdd, 0, headMm.outputs[0]);
  const headB = vector(headAdd.inputs[1], [1], "head_b")[0];
  const sig = next("Sigmoid", 1, "the head");
  consumes(sig, 0, headAdd.outputs[0]);
  if (sig.outputs[0] !== OUT_SCORE) fail(`the Sigmoid must output "${OUT_SCORE}"`);
  if (cursor !== nodes.length) {
    fail(`unexpected node ${nodes[cursor].opType} ("${nodes[cursor].name}") after the head`);
  }
  if (usedDq.size !== dqs.size) fail("the graph has DequantizeLinear nodes that feed nothing");

  const weights: BackboneWeights = { dim: D, denseDim: wd.rows, hidden: H, W1: w1.W, Wd: wd.W, b1, layers };
  const head = { w: headW, b: headB };
  try {
    checkModelParts({ weights, head, meta });
  } catch (e) {
    fail((e as Error).message);
  }
  if (meta.head.b !== headB || meta.head.w.length !== width || meta.head.w.some((v, i) => v !== headW[i])) {
    fail("the card's head differs from the graph's head_w and head_b");
  }
  return { weights, head, meta, quantized };
}
