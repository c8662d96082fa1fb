/**
 * A byte-exact text form of a feature vector, for golden-vector tests that compare Deno, Node and workerd:
 * indices and structure tokens as numbers, float32 values and the dense block as little-endian hex.
 */
import type { FeatureVector } from "./extract.ts";
import { toHex } from "../util/bytes.ts";

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
  return toHex(bytes);
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

/**
 * A digest of golden vectors (FNV-1a over their exact text form, in order): the model records the digest of
 * the fixture requests' vectors it was trained with, and a test compares it with the extractor's output, so
 * an extractor change without a spec bump and a retrained model fails.
 *
 * @param vectors Encoded vectors, in fixture order.
 * @returns 8 hex digits.
 */
export function goldenDigest(vectors: EncodedVector[]): string {
  const text = JSON.stringify(vectors.map((v) => [v.indices, v.values, v.dense, v.structure]));
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}
