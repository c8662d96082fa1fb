/**
 * Detection metrics on scores: ROC AUC (ties count half), the true-positive rate at a false-positive rate,
 * and precision and recall at a threshold.
 *
 * @module
 */

/**
 * ROC AUC: the probability that a random attack scores above a random benign request (ties count half).
 *
 * @param scores Scores.
 * @param labels 1 attack, 0 benign.
 * @returns AUC in [0, 1]; NaN when a class is missing.
 */
export function auc(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let pos = 0, rankSum = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]] === 1) pos++, rankSum += rank;
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - pos * (pos + 1) / 2) / (pos * neg);
}

/**
 * The true-positive rate at the lowest threshold whose false-positive rate is at most `fpr`: attacks
 * scoring strictly above the ⌊fpr·benign⌋+1-th highest benign score.
 *
 * @param scores Scores.
 * @param labels 1 attack, 0 benign.
 * @param fpr The false-positive rate allowed.
 */
export function tprAtFpr(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  fpr: number,
): number {
  const benign: number[] = [], attack: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    (labels[i] === 1 ? attack : benign).push(scores[i]);
  }
  if (benign.length === 0 || attack.length === 0) return NaN;
  benign.sort((a, b) => b - a);
  const allowed = Math.floor(fpr * benign.length);
  const threshold = benign[Math.min(allowed, benign.length - 1)];
  let tp = 0;
  for (const s of attack) if (s > threshold) tp++;
  return tp / attack.length;
}

/** Precision and recall of `score ≥ tau` (precision 1 when nothing is flagged, by convention). */
export function precisionRecall(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  tau: number,
): { precision: number; recall: number; fpr: number } {
  let tp = 0, fp = 0, pos = 0, neg = 0;
  for (let i = 0; i < scores.length; i++) {
    const flag = scores[i] >= tau;
    if (labels[i] === 1) pos++, tp += flag ? 1 : 0;
    else neg++, fp += flag ? 1 : 0;
  }
  return {
    precision: tp + fp === 0 ? 1 : tp / (tp + fp),
    recall: pos === 0 ? NaN : tp / pos,
    fpr: neg ? fp / neg : NaN,
  };
}

/** Mean and standard deviation, NaNs skipped. */
export function meanStd(xs: number[]): { mean: number; std: number } {
  const v = xs.filter((x) => !Number.isNaN(x));
  if (v.length === 0) return { mean: NaN, std: NaN };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  return { mean, std };
}

/** The median of the numbers that are not NaN (NaN when there are none). */
export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
