/** Scoring with a head: the last, per-tenant step of the hot path. */
import type { HeadParams } from "../model/types.ts";
import { NOVELTY_DIM, noveltyFeatures } from "./site_profile.ts";
import { sigmoid } from "../util/math.ts";
import {
  gatedResidualLogit,
  ofShape,
  residualApplies,
  type ResidualFeatures,
  residualLogit,
  type ShapeFeatures,
} from "./residual.ts";
import { VALUE_DIM, valueFeatures } from "./value_profile.ts";
import { PARAM_WORDS } from "../features/extract.ts";

export { sigmoid };

const novelty = new Float32Array(NOVELTY_DIM), values = new Float32Array(VALUE_DIM);

/** A request's features as a head reads them: the residual's, and the listed parameter values. */
export interface HeadFeatures extends ResidualFeatures, ShapeFeatures {
  /** `FeatureVector.params` (a `FeatureBuffer`'s first `1 + nParams · PARAM_WORDS` words). */
  params?: ArrayLike<number>;
  nParams?: number;
}

/**
 * The logit of a request under a head: `w·z + b`, plus `a·n` when the head carries a site profile and the
 * request's structure tokens are given (`n`: its novelty features against the profile, see
 * `noveltyFeatures`), plus `av·v` when it also carries a value profile and the features list the request's
 * parameter values (`v`: `valueFeatures`). Without structure tokens, or without a profile, it is `w·z + b`.
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
  features?: HeadFeatures,
): number {
  const w = head.w;
  let s = head.b;
  for (let i = 0; i < w.length; i++) s += w[i] * z[i];
  const { a, profile } = head;
  if (a && profile && structure) {
    noveltyFeatures(profile, structure, nStructure ?? structure.length, novelty);
    for (let k = 0; k < NOVELTY_DIM; k++) s += a[k] * novelty[k];
    const { av, values: vp } = head, params = features?.params;
    if (av && vp && params) {
      const n = features!.nParams !== undefined ? 1 + features!.nParams * PARAM_WORDS : params.length;
      valueFeatures(vp, params, profile.weight, false, values, 0, n);
      for (let k = 0; k < VALUE_DIM; k++) s += av[k] * values[k];
    }
  }
  if (
    features !== undefined && (head.ri !== undefined || head.rd !== undefined) &&
    residualApplies(head.re, features.params) && ofShape(head.rp, features)
  ) {
    // A correction's support gate (`residualGate`) scales its residual (one pass over the features for both).
    s += head.rs === undefined || head.rg === undefined
      ? residualLogit(head.ri, head.rv, head.rd, features)
      : gatedResidualLogit(head.ri, head.rv, head.rd, head.rs, head.rg, features, head.rb);
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
  features?: HeadFeatures,
): number {
  return sigmoid(logitWithHead(head, z, structure, nStructure, features));
}

/**
 * An overflow view's features as a head reads them, with the listed values of the request it was cut from
 * (`HeadFeatures.of`): a correction's shape judges the view with its request (`ofShape`).
 *
 * @param view The view's features.
 * @param of The request's listed values (`params`, `nParams`).
 */
export function viewOf(view: HeadFeatures, of: ShapeFeatures["of"]): HeadFeatures {
  return {
    indices: view.indices,
    values: view.values,
    dense: view.dense,
    nnz: view.nnz,
    params: view.params,
    nParams: view.nParams,
    of,
  };
}
