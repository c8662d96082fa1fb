/** Scoring with a head: the last, per-tenant step of the hot path. */
import type { HeadParams } from "../model/types.ts";

/** Logistic sigmoid, stable for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * The score of an embedding under a head: `σ(w·z + b)`, in [0, 1].
 *
 * @param head The head (a tenant's, or the model's global head).
 * @param z The embedding.
 */
export function scoreWithHead(head: HeadParams, z: Float32Array): number {
  const w = head.w;
  let s = head.b;
  for (let i = 0; i < w.length; i++) s += w[i] * z[i];
  return sigmoid(s);
}
