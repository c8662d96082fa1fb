/** Names and constants of taugate's ONNX graph, shared by the writer and the reader. */

/** ONNX IR version written (onnxruntime-web 1.30 reads IR ≤ 11). */
export const IR_VERSION = 8;
/** Default-domain opset written: DequantizeLinear with per-axis scales needs ≥ 13. */
export const OPSET = 13;
/** The `metadata_props` key holding `ModelMeta` as JSON. */
export const META_KEY = "taugate";
/** The producer name written; the reader does not require it. */
export const PRODUCER = "taugate";

/** Graph input and output names (the engine contract). */
export const IN_INDICES = "indices", IN_VALUES = "values", IN_DENSE = "dense";
export const OUT_Z = "z", OUT_SCORE = "score";
/** The symbolic dimension of the sparse inputs. */
export const DIM_N = "N";

/** Initializer names of a weight matrix: float (`name`) or int8 QDQ (`name_q`, `_scale`, `_zero_point`). */
export function weightNames(name: string): { q: string; scale: string; zeroPoint: string } {
  return { q: `${name}_q`, scale: `${name}_scale`, zeroPoint: `${name}_zero_point` };
}

/** The name of dense layer `l`'s tensors (0-based). */
export function layerName(l: number, what: string): string {
  return `layer${l + 1}_${what}`;
}
