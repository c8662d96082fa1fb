/**
 * The τ of a tenant head. An adapted head's scores are on a scale of its own (its class-balanced fit moves
 * the bias), so the worker's τ — set at the far tail of the global head's benign scores — can let it flag next
 * to nothing, or everything. A head's own τ is therefore matched on the canary attacks the model ships
 * (`meta.canary`): the threshold at which the new head catches the same share of them as the global head
 * does at the worker's τ. The tenant API sets every head's τ so, and `deno task eval` reports precision and
 * recall at that τ, so the card's figures are the worker's.
 *
 * Canaries are scored on z alone, without a site profile's novelty term: they are attacks on other sites,
 * so every one of their paths and parameters would be new here, and matching τ on that would measure how
 * foreign they are to the site, not how well the head detects their payloads. The novelty term (non-negative)
 * only adds to a request's score.
 *
 * @module
 */
import type { HeadParams } from "../model/types.ts";
import { scoreWithHead } from "./score.ts";
import type { ResidualFeatures } from "./residual.ts";

/**
 * Share of embeddings a head scores at or above τ (on z alone, or with the residual when features are given).
 *
 * @param head The head.
 * @param zs Embeddings.
 * @param tau The threshold.
 * @param features Their features, for a head's residual (`null`: on z alone).
 * @returns The rate in [0, 1] (0 for no embeddings).
 */
export function detectionRate(
  head: HeadParams,
  zs: readonly Float32Array[],
  tau: number,
  features: readonly ResidualFeatures[] | null = null,
): number {
  if (zs.length === 0) return 0;
  let hit = 0;
  for (let i = 0; i < zs.length; i++) {
    if (scoreWithHead(head, zs[i], undefined, undefined, features?.[i]) >= tau) hit++;
  }
  return hit / zs.length;
}

/**
 * The threshold at which `head` catches at least `detection` of the canaries: the ⌈detection·n⌉-th highest
 * canary score (just above the highest when `detection` is 0).
 *
 * @param head The head.
 * @param canaries Canary embeddings (at least one).
 * @param detection The share to catch, in [0, 1].
 * @param features The canaries' features, for a head with a residual (as `detectionRate` takes them).
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
  features: readonly ResidualFeatures[] | null = null,
): number {
  const scores = canaries.map((z, i) => scoreWithHead(head, z, undefined, undefined, features?.[i]))
    .sort((a, b) => b - a);
  const k = Math.ceil(detection * scores.length - 1e-9);
  return k <= 0 ? nextUp(scores[0]) : scores[Math.min(k, scores.length) - 1];
}

/**
 * The τ the worker uses for a tenant head: matched on the canaries to the global head's detection at the
 * worker's τ.
 *
 * @param head The tenant head.
 * @param canaries Canary embeddings.
 * @param globalHead The global head.
 * @param globalTau The worker's τ.
 * @returns τ in [0, 1].
 */
export function tenantTau(
  head: HeadParams,
  canaries: readonly Float32Array[],
  globalHead: HeadParams,
  globalTau: number,
): number {
  return canaryMatchedTau(head, canaries, detectionRate(globalHead, canaries, globalTau));
}

/** The smallest float64 above x, for x in [0, 1]. */
function nextUp(x: number): number {
  if (x >= 1) return 1;
  const b = new Float64Array([x]), u = new BigUint64Array(b.buffer);
  u[0] += 1n;
  return b[0];
}
