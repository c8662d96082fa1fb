/**
 * The τ of a tenant head, and the out-of-fold scores the guard checks it with.
 *
 * An adapted head's scores are on a scale of its own (its class-balanced fit moves the bias), so the
 * worker's τ — set at the far tail of the global head's benign scores — can let it flag next to nothing, or
 * everything. A head's own τ is therefore matched on the canary attacks the model ships: the threshold at
 * which the new head catches the same share of them as the global head does at the worker's τ. For an honest
 * head this lands at about the global head's false-positive rate on the tenant's traffic; a head taught that
 * attacks are benign can only keep catching the canaries with a τ so low that it flags the tenant's own
 * requests, which the guard sees in the out-of-fold scores of the upload's benign examples: each is scored by
 * a head adapted (`adaptHead`, same settings) on the rest of the upload, as the tenant's next request will be.
 *
 * @module
 */
import { type AdaptConfig, adaptHead, type HeadExample } from "../heads/adapt.ts";
import { scoreWithHead } from "../heads/score.ts";
import type { HeadParams } from "../model/types.ts";

/** Most folds of the cross-fit. */
export const MAX_FOLDS = 5;

/**
 * The threshold at which `head` catches at least `detection` of the canaries: the ⌈detection·n⌉-th highest
 * canary score (just above the highest when `detection` is 0).
 *
 * @param head The head.
 * @param canaries Canary embeddings (at least one).
 * @param detection The share to catch, in [0, 1].
 * @returns τ in [0, 1].
 * @example
 * ```ts
 * import { canaryMatchedTau } from "./calibrate.ts";
 * const head = { w: new Float32Array([1]), b: 0 };
 * const canaries = [-1, 0, 1, 2].map((x) => new Float32Array([x]));
 * canaryMatchedTau(head, canaries, 0.5); // σ(1): the second highest score
 * ```
 */
export function canaryMatchedTau(
  head: HeadParams,
  canaries: readonly Float32Array[],
  detection: number,
): number {
  const scores = canaries.map((z) => scoreWithHead(head, z)).sort((a, b) => b - a);
  const k = Math.ceil(detection * scores.length - 1e-9);
  return k <= 0 ? nextUp(scores[0]) : scores[Math.min(k, scores.length) - 1];
}

/**
 * Cross-fitted scores of the upload's benign examples: they are cut into up to 5 folds (benign example `j`
 * in fold `j mod F`), and each fold is scored by the head `adaptHead` fits on every other example.
 * Deterministic.
 *
 * @param init The head init (the model's global head).
 * @param examples The labelled examples, in upload order.
 * @param config The adaptation settings.
 * @param unlabeled The tenant's unlabelled traffic (given to every fold's fit, as to the head's).
 * @returns One score per benign example, in upload order; `null` with fewer than two benign examples.
 */
export function outOfFoldBenignScores(
  init: HeadParams,
  examples: readonly HeadExample[],
  config: AdaptConfig,
  unlabeled: readonly Float32Array[],
): number[] | null {
  const benign: number[] = [];
  for (let i = 0; i < examples.length; i++) if (examples[i].label === 0) benign.push(i);
  const folds = Math.min(MAX_FOLDS, benign.length);
  if (folds < 2) return null;
  const fold = new Int8Array(examples.length).fill(-1);
  benign.forEach((i, j) => fold[i] = j % folds);
  const out = new Array<number>(benign.length);
  for (let k = 0; k < folds; k++) {
    const { head } = adaptHead(init, examples.filter((_, i) => fold[i] !== k), config, { unlabeled });
    benign.forEach((i, j) => {
      if (fold[i] === k) out[j] = scoreWithHead(head, examples[i].z);
    });
  }
  return out;
}

/** The smallest float64 above x, for x in [0, 1]. */
function nextUp(x: number): number {
  if (x >= 1) return 1;
  const b = new Float64Array([x]), u = new BigUint64Array(b.buffer);
  u[0] += 1n;
  return b[0];
}
