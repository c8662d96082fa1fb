/**
 * The out-of-fold scores the guard checks a tenant head with (its τ is matched on the canaries: see
 * `src/heads/calibrate.ts`). A head taught that attacks are benign can only keep catching the canaries with a
 * τ so low that it flags the tenant's own requests, which the guard sees in the out-of-fold scores of the
 * upload's benign examples: each is scored by a head adapted (`adaptHead`, same settings, same unlabelled
 * traffic) on the rest of the upload, as the tenant's next request will be — novelty against the site's
 * profile included, since the held-out examples are not part of that fold's profile.
 *
 * @module
 */
import {
  type AdaptConfig,
  adaptHead,
  type Anchor,
  type HeadExample,
  type UnlabeledRequest,
} from "../heads/adapt.ts";
import { scoreWithHead } from "../heads/score.ts";
import type { HeadParams } from "../model/types.ts";

export { canaryMatchedTau } from "../heads/calibrate.ts";

/** Most folds of the cross-fit. */
export const MAX_FOLDS = 5;

/**
 * Cross-fitted scores of the upload's benign examples: they are cut into up to 5 folds (benign example `j`
 * in fold `j mod F`), and each fold is scored by the head `adaptHead` fits on every other example.
 * Deterministic.
 *
 * @param init The head init (the model's global head).
 * @param examples The labelled examples (with their structure tokens), in upload order.
 * @param config The adaptation settings.
 * @param unlabeled The tenant's unlabelled traffic (given to every fold's fit, as to the head's).
 * @param anchors The residual's anchors (as given to the head's fit).
 * @param tau The τ given to the head's fit.
 * @param contrasts A correction's contrasts (as given to the head's fit).
 * @returns One score per benign example, in upload order; `null` with fewer than two benign examples.
 */
export function outOfFoldBenignScores(
  init: HeadParams,
  examples: readonly HeadExample[],
  config: AdaptConfig,
  unlabeled: readonly UnlabeledRequest[],
  anchors: readonly Anchor[] = [],
  tau?: number,
  contrasts: readonly Anchor[] = [],
): number[] | null {
  const benign: number[] = [];
  for (let i = 0; i < examples.length; i++) if (examples[i].label === 0) benign.push(i);
  const folds = Math.min(MAX_FOLDS, benign.length);
  if (folds < 2) return null;
  const fold = new Int8Array(examples.length).fill(-1);
  benign.forEach((i, j) => fold[i] = j % folds);
  const out = new Array<number>(benign.length);
  for (let k = 0; k < folds; k++) {
    const { head } = adaptHead(init, examples.filter((_, i) => fold[i] !== k), config, {
      unlabeled,
      anchors,
      tau,
      contrasts,
    });
    benign.forEach((i, j) => {
      if (fold[i] === k) {
        const e = examples[i];
        out[j] = scoreWithHead(head, e.z, e.structure, undefined, e.features);
      }
    });
  }
  return out;
}
