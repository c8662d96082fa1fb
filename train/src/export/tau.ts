/**
 * The default decision threshold τ: the lowest score at which at most a stated share of held-out benign
 * traffic (requests of evaluation tenants that meta-training never saw) would be blocked by the global head.
 *
 * @module
 */

/**
 * τ such that `score ≥ τ` flags at most a fraction `fpr` of the benign scores.
 *
 * @param benignScores Scores of held-out benign requests.
 * @param fpr The false-positive rate allowed (e.g. 0.01).
 * @returns τ in (0, 1].
 */
export function tauForFpr(
  benignScores: ArrayLike<number>,
  fpr: number,
): number {
  const s = Array.from(benignScores).sort((a, b) => b - a);
  const k = Math.floor(fpr * s.length);
  // Just above the (k+1)-th highest score: at most k benign requests reach τ.
  const edge = s[Math.min(k, s.length - 1)];
  return Math.min(1, edge + Math.max(1e-6, edge * 1e-6));
}

/** The share of scores at or above τ. */
export function flaggedShare(scores: ArrayLike<number>, tau: number): number {
  let n = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i] >= tau) n++;
  return scores.length ? n / scores.length : NaN;
}
