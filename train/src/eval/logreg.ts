/**
 * The `scratch-logreg` baseline: logistic regression on the raw sparse and dense features (and, if given, a
 * few extra dense features per row: the site-profile novelty), fitted on the K shots alone (balanced
 * classes, L2, plain gradient descent from zero). Forward and backward side by side.
 *
 * @module
 */
import { classWeights } from "@taugate/heads/adapt.ts";
import type { FeatureSet } from "../nn/features.ts";

/** Settings of the baseline. */
export interface LogRegConfig {
  steps: number;
  lr: number;
  l2: number;
}

/** The defaults (chosen on training tenants, not on evaluation tenants). */
export const LOGREG_DEFAULTS: LogRegConfig = { steps: 100, lr: 1, l2: 1e-3 };

/** A fitted model: sparse weights, dense weights, extra weights, bias. */
export interface LogReg {
  w: Float32Array;
  wd: Float32Array;
  we: Float32Array;
  b: number;
}

/** The logit of row `r` of `set` (with its extra features `x`, if the model has any). */
export function logRegLogit(m: LogReg, set: FeatureSet, r: number, x?: ArrayLike<number>): number {
  let s = m.b;
  if (x) { for (let j = 0; j < m.we.length; j++) s += m.we[j] * x[j]; }
  for (let k = set.rowPtr[r]; k < set.rowPtr[r + 1]; k++) {
    s += m.w[set.idx[k]] * set.val[k];
  }
  for (let j = 0, o = r * set.denseDim; j < set.denseDim; j++) {
    s += m.wd[j] * set.dense[o + j];
  }
  return s;
}

/**
 * Fits the baseline on some rows.
 *
 * @param set Feature rows.
 * @param rows The training rows.
 * @param ys Their labels.
 * @param config Steps, step size, L2.
 * @param extra Extra features of the training rows, `[rows.length][dim]`.
 */
export function fitLogReg(
  set: FeatureSet,
  rows: ArrayLike<number>,
  ys: ArrayLike<number>,
  config = LOGREG_DEFAULTS,
  extra?: { x: Float32Array; dim: number },
): LogReg {
  const E = extra?.dim ?? 0;
  const m: LogReg = {
    w: new Float32Array(set.dim),
    wd: new Float32Array(set.denseDim),
    we: new Float32Array(E),
    b: 0,
  };
  const n = rows.length;
  if (n === 0) return m;
  const [c0, c1] = classWeights(ys, n);
  const gw = new Float32Array(set.dim), gwd = new Float32Array(set.denseDim), gwe = new Float32Array(E);
  for (let t = 0; t < config.steps; t++) {
    gw.fill(0);
    gwd.fill(0);
    gwe.fill(0);
    let gb = 0;
    for (let i = 0; i < n; i++) {
      const xi = extra?.x.subarray(i * E, (i + 1) * E);
      const r = rows[i], s = logRegLogit(m, set, r, xi);
      const p = s >= 0 ? 1 / (1 + Math.exp(-s)) : Math.exp(s) / (1 + Math.exp(s));
      const g = (ys[i] === 1 ? c1 : c0) * (p - ys[i]);
      for (let k = set.rowPtr[r]; k < set.rowPtr[r + 1]; k++) {
        gw[set.idx[k]] += g * set.val[k];
      }
      for (let j = 0, o = r * set.denseDim; j < set.denseDim; j++) {
        gwd[j] += g * set.dense[o + j];
      }
      if (xi) { for (let j = 0; j < E; j++) gwe[j] += g * xi[j]; }
      gb += g;
    }
    // L2 only on the weights the shots touched, plus the dense block: the others stay exactly zero.
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      for (let k = set.rowPtr[r]; k < set.rowPtr[r + 1]; k++) {
        const j = set.idx[k];
        if (gw[j] !== Infinity) {
          m.w[j] -= config.lr * (gw[j] + config.l2 * m.w[j]), gw[j] = Infinity;
        }
      }
    }
    for (let j = 0; j < set.denseDim; j++) {
      m.wd[j] -= config.lr * (gwd[j] + config.l2 * m.wd[j]);
    }
    for (let j = 0; j < E; j++) m.we[j] -= config.lr * (gwe[j] + config.l2 * m.we[j]);
    m.b -= config.lr * gb;
  }
  return m;
}
