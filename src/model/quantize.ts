/**
 * Symmetric per-output-channel int8 quantisation of a weight matrix, the form the ONNX model stores:
 * `W[i][j] ≈ q[i][j] · scale[j]`, `q ∈ [-127, 127]`, zero point 0.
 *
 * @module
 */

/** A quantised `[rows][cols]` matrix: int8 values row-major and one float32 scale per column. */
export interface QuantizedMatrix {
  /** Rows of the matrix (a layer's input dimension). */
  rows: number;
  /** Columns (output channels), one scale each. */
  cols: number;
  /** The `rows × cols` int8 values in [-127, 127], row-major. */
  q: Int8Array;
  /** Per-column scale (`cols` entries, all positive): `W[i][j] ≈ q[i·cols + j] · scale[j]`. */
  scale: Float32Array;
}

/** The scale of an all-zero column: any positive value dequantises it exactly; ORT refuses a zero scale. */
export const ZERO_COLUMN_SCALE = 1;

/**
 * Quantises a row-major `[rows][cols]` matrix per column: `scale[j] = max_i |W[i][j]| / 127`.
 *
 * @param W The matrix, row-major.
 * @param rows Number of rows (inputs).
 * @param cols Number of columns (output channels).
 * @returns The int8 values and per-column scales.
 * @throws {RangeError} if the sizes disagree or a weight is not finite.
 * @example
 * ```ts
 * import { dequantizeMatrix, quantizeMatrix } from "./quantize.ts";
 * const m = quantizeMatrix(new Float32Array([0.5, -1, 0.25, 2]), 2, 2);
 * console.log(m.q, dequantizeMatrix(m)); // Int8Array [127, -64, 64, 127], ≈ the original
 * ```
 */
export function quantizeMatrix(W: Float32Array, rows: number, cols: number): QuantizedMatrix {
  if (
    !Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1 || W.length !== rows * cols
  ) {
    throw new RangeError(
      `quantize: a [${rows}][${cols}] matrix needs ${rows * cols} values, got ${W.length}`,
    );
  }
  const maxAbs = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let j = 0; j < cols; j++) {
      const a = Math.abs(W[base + j]);
      if (!(a < Infinity)) throw new RangeError(`quantize: W[${i}][${j}] is not finite (${W[base + j]})`);
      if (a > maxAbs[j]) maxAbs[j] = a;
    }
  }
  const scale = new Float32Array(cols);
  for (let j = 0; j < cols; j++) {
    scale[j] = maxAbs[j] > 0 ? maxAbs[j] / 127 : ZERO_COLUMN_SCALE;
    // A denormal or zero float32 scale (tiny column) would make 1/scale blow up: treat it as a zero column.
    if (!(scale[j] > 0) || !Number.isFinite(1 / scale[j])) scale[j] = ZERO_COLUMN_SCALE;
  }
  const q = new Int8Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let j = 0; j < cols; j++) {
      const v = Math.round(W[base + j] / scale[j]);
      q[base + j] = v > 127 ? 127 : v < -127 ? -127 : v;
    }
  }
  return { rows, cols, q, scale };
}

/**
 * Dequantises exactly as onnxruntime's `DequantizeLinear` does with a zero point of 0: the float32 product
 * `float32(q) · scale` (a float32 product is exact in float64, then rounded once on store).
 *
 * @param m The quantised matrix.
 * @returns The float32 matrix, row-major.
 */
export function dequantizeMatrix(m: QuantizedMatrix): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  for (let i = 0; i < m.rows; i++) {
    const base = i * m.cols;
    for (let j = 0; j < m.cols; j++) out[base + j] = m.q[base + j] * m.scale[j];
  }
  return out;
}
