/** Scoring with a head: the last, per-tenant step of the hot path. */
import type { HeadParams } from "../model/types.ts";
import { NOVELTY_DIM, noveltyFeatures } from "./site_profile.ts";
import { sigmoid } from "../util/math.ts";
import { type ResidualFeatures, residualLogit } from "./residual.ts";

export { sigmoid };

const novelty = new Float32Array(NOVELTY_DIM);

/**
 * The logit of a request under a head: `w·z + b`, plus `a·n` when the head carries a site profile and the
 * request's structure tokens are given (`n`: its novelty features against the profile, see
 * `noveltyFeatures`). Without structure tokens, or without a profile, it is `w·z + b`.
 *
 * @param head The head.
 * @param z The embedding.
 * @param structure The request's structure tokens (`FeatureBuffer.structure`).
 * @param nStructure How many of them are valid (default: all).
 * @param features The request's features, for a head with a residual (without them, no residual term).
 */
export function logitWithHead(
  head: HeadParams,
  z: Float32Array,
  structure?: ArrayLike<number>,
  nStructure?: number,
  features?: ResidualFeatures,
): number {
  const w = head.w;
  let s = head.b;
  for (let i = 0; i < w.length; i++) s += w[i] * z[i];
  const { a, profile } = head;
  if (a && profile && structure) {
    noveltyFeatures(profile, structure, nStructure ?? structure.length, novelty);
    for (let k = 0; k < NOVELTY_DIM; k++) s += a[k] * novelty[k];
  }
  if (features !== undefined && (head.ri !== undefined || head.rd !== undefined)) {
    s += residualLogit(head.ri, head.rv, head.rd, features);
  }
  return s;
}

/**
 * The score of a request under a head, in [0, 1]: `σ(w·z + b)`, plus the site-profile term `a·n` when the
 * head has a profile and the request's structure tokens are given.
 *
 * @param head The head (a tenant's, or the model's global head).
 * @param z The embedding.
 * @param structure The request's structure tokens.
 * @param nStructure How many of them are valid (default: all).
 * @param features The request's features, for a head with a residual.
 */
export function scoreWithHead(
  head: HeadParams,
  z: Float32Array,
  structure?: ArrayLike<number>,
  nStructure?: number,
  features?: ResidualFeatures,
): number {
  return sigmoid(logitWithHead(head, z, structure, nStructure, features));
}
