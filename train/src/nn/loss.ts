/**
 * The logistic loss on logits, forward and backward: `ℓ(s, y) = log(1 + e^s) − y·s`, `∂ℓ/∂s = σ(s) − y`,
 * weighted per example (class balancing, episode weights).
 *
 * @module
 */
import { sigmoid } from "@taugate/util/math.ts";

/** log(1 + e^s), stable for large |s|. */
export function softplus(s: number): number {
  return s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s));
}

export { sigmoid };

/**
 * The weighted logistic loss `Σ_i w_i·ℓ(s_i, y_i)` and, if asked, its gradient `w_i·(σ(s_i) − y_i)`.
 *
 * @param logits `s[0..n)`.
 * @param labels `y[0..n)`, 0 or 1.
 * @param weights `w[0..n)`.
 * @param n Count.
 * @param dLogits Receives the gradient (overwritten), or `null`.
 */
export function logisticLoss(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  weights: ArrayLike<number>,
  n: number,
  dLogits: Float64Array | Float32Array | null,
): number {
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const s = logits[i], y = labels[i], w = weights[i];
    loss += w * (softplus(s) - y * s);
    if (dLogits) dLogits[i] = w * (sigmoid(s) - y);
  }
  return loss;
}

/**
 * Weights that give each class present half of the total weight (or all of it when only one is present),
 * spread evenly over its examples: a balanced loss, so K benign + K attack and benign-only fits mean the same.
 *
 * @param labels `y[0..n)`.
 * @param n Count.
 * @param out Receives the weights.
 */
export function balancedWeights(
  labels: ArrayLike<number>,
  n: number,
  out: Float64Array | Float32Array,
): void {
  let pos = 0;
  for (let i = 0; i < n; i++) pos += labels[i];
  const neg = n - pos;
  const classes = (pos > 0 ? 1 : 0) + (neg > 0 ? 1 : 0);
  for (let i = 0; i < n; i++) {
    out[i] = labels[i] === 1 ? 1 / (classes * pos) : 1 / (classes * neg);
  }
}
