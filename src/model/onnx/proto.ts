/**
 * The ONNX messages taugate writes and reads (field numbers from `onnx.proto`, IR version 8): ModelProto,
 * GraphProto, NodeProto, AttributeProto, TensorProto (dims, data type, raw data, and the typed repeated
 * fields on decode), ValueInfoProto with TypeProto.Tensor and TensorShapeProto, OperatorSetIdProto and
 * StringStringEntryProto. Fields outside this subset are skipped on decode and never written.
 *
 * @module
 */
import {
  decodeFields,
  floatField,
  int64Field,
  lenFields,
  ProtobufError,
  ProtoWriter,
  repeatedFloat,
  repeatedInt64,
  stringField,
  stringsField,
} from "./protobuf.ts";

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;

/** AttributeProto.AttributeType values used here. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

/** A tensor: its data is little-endian `rawData`, or (decode only) the typed repeated fields. */
export interface TensorProto {
  name: string;
  dataType: number;
  dims: number[];
  rawData?: Uint8Array;
  /** `float_data` (field 4), decode only. */
  floatData?: number[];
  /** `int32_data` (field 5; also holds int8 and uint8 values), decode only. */
  int32Data?: number[];
}

/** One dimension of a shape: a number or a symbolic name. */
export type Dim = number | string;

/** A graph input or output: a tensor of an element type and shape. */
export interface ValueInfoProto {
  name: string;
  elemType: number;
  shape: Dim[];
}

/** A node attribute (the scalar and list kinds only). */
export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: string;
  floats?: number[];
  ints?: number[];
}

/** A node of the graph. */
export interface NodeProto {
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes: AttributeProto[];
  domain?: string;
}

/** The graph. */
export interface GraphProto {
  name: string;
  nodes: NodeProto[];
  initializers: TensorProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
}

/** The model. */
export interface ModelProto {
  irVersion: number;
  opsetImports: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  modelVersion?: number;
  docString?: string;
  graph: GraphProto;
  metadataProps: { key: string; value: string }[];
}

// --- encoding -----------------------------------------------------------------------------------------

function encodeTensor(t: TensorProto): Uint8Array {
  const w = new ProtoWriter().packedInts(1, t.dims).int(2, t.dataType).string(8, t.name);
  if (t.rawData) w.bytes(9, t.rawData);
  return w.finish();
}

function encodeValueInfo(v: ValueInfoProto): Uint8Array {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    const dim = new ProtoWriter();
    if (typeof d === "number") dim.int(1, d);
    else dim.string(2, d);
    shape.bytes(1, dim.finish());
  }
  const tensorType = new ProtoWriter().int(1, v.elemType).bytes(2, shape.finish()).finish();
  const type = new ProtoWriter().bytes(1, tensorType).finish();
  return new ProtoWriter().string(1, v.name).bytes(2, type).finish();
}

function encodeAttribute(a: AttributeProto): Uint8Array {
  const w = new ProtoWriter().string(1, a.name).int(20, a.type);
  if (a.f !== undefined) w.float(2, a.f);
  if (a.i !== undefined) w.int(3, a.i);
  if (a.s !== undefined) w.string(4, a.s);
  if (a.floats) w.packedFloats(7, a.floats);
  if (a.ints) w.packedInts(8, a.ints);
  return w.finish();
}

function encodeNode(n: NodeProto): Uint8Array {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.opType);
  for (const a of n.attributes) w.bytes(5, encodeAttribute(a));
  if (n.domain) w.string(7, n.domain);
  return w.finish();
}

function encodeGraph(g: GraphProto): Uint8Array {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.bytes(1, encodeNode(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.bytes(5, encodeTensor(t));
  for (const v of g.inputs) w.bytes(11, encodeValueInfo(v));
  for (const v of g.outputs) w.bytes(12, encodeValueInfo(v));
  return w.finish();
}

/**
 * Encodes a model.
 *
 * @param m The model.
 * @returns The ONNX file's bytes.
 * @example
 * ```ts
 * import { decodeModel, encodeModel } from "./proto.ts";
 * const bytes = encodeModel({
 *   irVersion: 8, opsetImports: [{ domain: "", version: 13 }], producerName: "x", producerVersion: "1",
 *   graph: { name: "g", nodes: [], initializers: [], inputs: [], outputs: [] }, metadataProps: [],
 * });
 * console.log(decodeModel(bytes).irVersion); // 8
 * ```
 */
export function encodeModel(m: ModelProto): Uint8Array {
  const w = new ProtoWriter().int(1, m.irVersion).string(2, m.producerName).string(3, m.producerVersion);
  if (m.modelVersion !== undefined) w.int(5, m.modelVersion);
  if (m.docString) w.string(6, m.docString);
  w.bytes(7, encodeGraph(m.graph));
  for (const o of m.opsetImports) {
    w.bytes(8, new ProtoWriter().string(1, o.domain).int(2, o.version).finish());
  }
  for (const p of m.metadataProps) {
    w.bytes(14, new ProtoWriter().string(1, p.key).string(2, p.value).finish());
  }
  return w.finish();
}

// --- decoding -----------------------------------------------------------------------------------------

function decodeTensor(bytes: Uint8Array): TensorProto {
  const f = decodeFields(bytes, "TensorProto");
  const name = stringField(f, 8, "TensorProto.name") ?? "";
  const t: TensorProto = {
    name,
    dataType: int64Field(f, 2, "TensorProto.data_type") ?? 0,
    dims: repeatedInt64(f, 1, `dims of tensor "${name}"`),
  };
  const raw = lenFields(f, 9, "TensorProto.raw_data");
  if (raw.length) t.rawData = raw[raw.length - 1];
  if (f.some((x) => x.field === 4)) t.floatData = repeatedFloat(f, 4, `float_data of tensor "${name}"`);
  if (f.some((x) => x.field === 5)) t.int32Data = repeatedInt64(f, 5, `int32_data of tensor "${name}"`);
  if (f.some((x) => x.field === 13 || x.field === 14)) {
    throw new ProtobufError(`onnx: tensor "${name}" uses external data, which taugate does not read`);
  }
  return t;
}

function decodeValueInfo(bytes: Uint8Array): ValueInfoProto {
  const f = decodeFields(bytes, "ValueInfoProto");
  const name = stringField(f, 1, "ValueInfoProto.name") ?? "";
  const v: ValueInfoProto = { name, elemType: 0, shape: [] };
  const type = lenFields(f, 2, "ValueInfoProto.type");
  if (!type.length) return v;
  const tensorType = lenFields(decodeFields(type[type.length - 1], "TypeProto"), 1, "TypeProto.tensor_type");
  if (!tensorType.length) return v;
  const tt = decodeFields(tensorType[tensorType.length - 1], "TypeProto.Tensor");
  v.elemType = int64Field(tt, 1, "TypeProto.Tensor.elem_type") ?? 0;
  const shape = lenFields(tt, 2, "TypeProto.Tensor.shape");
  if (!shape.length) return v;
  for (const d of lenFields(decodeFields(shape[shape.length - 1], "TensorShapeProto"), 1, "dim")) {
    const df = decodeFields(d, "TensorShapeProto.Dimension");
    const value = int64Field(df, 1, `dim_value of "${name}"`);
    v.shape.push(value ?? stringField(df, 2, `dim_param of "${name}"`) ?? "");
  }
  return v;
}

function decodeAttribute(bytes: Uint8Array): AttributeProto {
  const f = decodeFields(bytes, "AttributeProto");
  const a: AttributeProto = {
    name: stringField(f, 1, "AttributeProto.name") ?? "",
    type: int64Field(f, 20, "AttributeProto.type") ?? 0,
  };
  const fl = floatField(f, 2, `attribute "${a.name}" f`);
  if (fl !== undefined) a.f = fl;
  const i = int64Field(f, 3, `attribute "${a.name}" i`);
  if (i !== undefined) a.i = i;
  const s = stringField(f, 4, `attribute "${a.name}" s`);
  if (s !== undefined) a.s = s;
  if (f.some((x) => x.field === 7)) a.floats = repeatedFloat(f, 7, `attribute "${a.name}" floats`);
  if (f.some((x) => x.field === 8)) a.ints = repeatedInt64(f, 8, `attribute "${a.name}" ints`);
  return a;
}

function decodeNode(bytes: Uint8Array): NodeProto {
  const f = decodeFields(bytes, "NodeProto");
  const n: NodeProto = {
    name: stringField(f, 3, "NodeProto.name") ?? "",
    opType: stringField(f, 4, "NodeProto.op_type") ?? "",
    inputs: stringsField(f, 1, "NodeProto.input"),
    outputs: stringsField(f, 2, "NodeProto.output"),
    attributes: lenFields(f, 5, "NodeProto.attribute").map(decodeAttribute),
  };
  const domain = stringField(f, 7, "NodeProto.domain");
  if (domain) n.domain = domain;
  return n;
}

function decodeGraph(bytes: Uint8Array): GraphProto {
  const f = decodeFields(bytes, "GraphProto");
  return {
    name: stringField(f, 2, "GraphProto.name") ?? "",
    nodes: lenFields(f, 1, "GraphProto.node").map(decodeNode),
    initializers: lenFields(f, 5, "GraphProto.initializer").map(decodeTensor),
    inputs: lenFields(f, 11, "GraphProto.input").map(decodeValueInfo),
    outputs: lenFields(f, 12, "GraphProto.output").map(decodeValueInfo),
  };
}

/**
 * Decodes a model (the subset above; other fields are skipped).
 *
 * @param bytes The ONNX file's bytes.
 * @returns The model.
 * @throws {ProtobufError} on malformed bytes or a model without a graph.
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const f = decodeFields(bytes, "ModelProto");
  const graph = lenFields(f, 7, "ModelProto.graph");
  if (!graph.length) throw new ProtobufError("onnx: the model has no graph");
  const m: ModelProto = {
    irVersion: int64Field(f, 1, "ModelProto.ir_version") ?? 0,
    opsetImports: lenFields(f, 8, "ModelProto.opset_import").map((b) => {
      const o = decodeFields(b, "OperatorSetIdProto");
      return {
        domain: stringField(o, 1, "OperatorSetIdProto.domain") ?? "",
        version: int64Field(o, 2, "OperatorSetIdProto.version") ?? 0,
      };
    }),
    producerName: stringField(f, 2, "ModelProto.producer_name") ?? "",
    producerVersion: stringField(f, 3, "ModelProto.producer_version") ?? "",
    graph: decodeGraph(graph[graph.length - 1]),
    metadataProps: lenFields(f, 14, "ModelProto.metadata_props").map((b) => {
      const e = decodeFields(b, "StringStringEntryProto");
      return {
        key: stringField(e, 1, "StringStringEntryProto.key") ?? "",
        value: stringField(e, 2, "StringStringEntryProto.value") ?? "",
      };
    }),
  };
  const modelVersion = int64Field(f, 5, "ModelProto.model_version");
  if (modelVersion !== undefined) m.modelVersion = modelVersion;
  const doc = stringField(f, 6, "ModelProto.doc_string");
  if (doc !== undefined) m.docString = doc;
  return m;
}
