/**
 * The logistic function and its inverse, written once for the worker, the heads and the training package.
 *
 * @example
 * ```ts
 * import { logit, sigmoid } from "./math.ts";
 * console.log(sigmoid(0), sigmoid(logit(0.9))); // 0.5, 0.9 (to rounding)
 * ```
 * @module
 */

/** Logistic sigmoid σ(x) = 1 / (1 + e^−x), stable for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** The log-odds of p in (0, 1): `sigmoid(logit(p)) = p`. */
export function logit(p: number): number {
  return Math.log(p / (1 - p));
}
