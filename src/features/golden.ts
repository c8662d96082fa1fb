/**
 * A byte-exact text form of a feature vector, for golden-vector tests that compare Deno, Node and workerd:
 * indices and structure tokens as numbers, float32 values and the dense block as little-endian hex.
 */
import type { FeatureVector } from "./extract.ts";

/** The exact text form of a feature vector. */
export interface EncodedVector {
  indices: number[];
  values: string;
  dense: string;
  structure: number[];
}

function hex(a: Float32Array): string {
  const bytes = new Uint8Array(a.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < a.length; i++) view.setFloat32(i * 4, a[i], true);
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * Encodes a feature vector so that two vectors are equal exactly when their encodings are.
 *
 * @param fv The vector.
 * @returns Indices, and values and dense block as little-endian float32 hex.
 */
export function encodeVector(fv: FeatureVector): EncodedVector {
  return {
    indices: Array.from(fv.indices),
    values: hex(fv.values),
    dense: hex(fv.dense),
    structure: Array.from(fv.structure),
  };
}
