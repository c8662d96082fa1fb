/** Scoring with a head: the last, per-tenant step of the hot path. */
import type { HeadParams } from "../model/types.ts";
import { deviation } from "./profile.ts";

/** Logistic sigmoid, stable for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * The logit of an embedding under a head: `w·z + b`, plus `Σ_j a_j·deviation(z_j − mu_j, prec_j)` (see
 * `profile.ts`) when the head carries a site profile.
 *
 * @param head The head.
 * @param z The embedding.
 */
export function logitWithHead(head: HeadParams, z: Float32Array): number {
  const w = head.w;
  let s = head.b;
  for (let i = 0; i < w.length; i++) s += w[i] * z[i];
  const { a, mu, prec } = head;
  if (a && mu && prec) {
    for (let i = 0; i < a.length; i++) s += a[i] * deviation(z[i] - mu[i], prec[i]);
  }
  return s;
}

/**
 * The score of an embedding under a head, in [0, 1]: `σ(w·z + b)`, with the site-profile term when the head
 * has one (`mu`, `prec`, `a`).
 *
 * @param head The head (a tenant's, or the model's global head).
 * @param z The embedding.
 */
export function scoreWithHead(head: HeadParams, z: Float32Array): number {
  return sigmoid(logitWithHead(head, z));
}
