/**
 * A site profile: where a tenant's normal requests lie in embedding space, as a robust diagonal Gaussian of
 * z, estimated from the tenant's benign examples and its unlabelled traffic and shrunk toward a prior (the
 * model's global benign traffic) so a handful of requests already gives a usable profile. A head adapted with
 * a profile sees, besides z, each dimension's deviation `log(1 + prec_j·(z_j − mu_j)²) / 4`, and learns how
 * much "unusual for this site" weighs. (The quarter keeps deviations on the scale of z, so the same step
 * size fits both.)
 *
 * Unlabelled traffic may hold a few attacks: the `trim` share of unlabelled requests that deviate most is
 * left out of the estimate. A labelled benign example is scored against the profile without itself
 * (leave-one-out), as a new request of the site would be.
 *
 * @module
 */

/** Deviations are scaled by this so they are on the scale of z (a benign request's is about 0.1). */
export const DEVIATION_SCALE = 0.25;

/** The deviation of one coordinate: `log(1 + prec·d²)·DEVIATION_SCALE`. */
export function deviation(d: number, prec: number): number {
  return Math.log1p(prec * d * d) * DEVIATION_SCALE;
}

/** How profiles are built; shipped in the model's meta as part of the adaptation settings. */
export interface ProfileConfig {
  /** Prior mean and variance of z: the model's benign training traffic. */
  priorMean: number[];
  priorVar: number[];
  /** Weight of the prior, in requests. */
  priorWeight: number;
  /** Share of unlabelled requests (the most deviant) left out as likely attacks. */
  trim: number;
  /** Floor of every variance. */
  minVar: number;
  /** Meta-learned init of the deviation weights `a`. */
  a0: number[];
  /** Fewest benign requests (labelled and unlabelled) that make a profile. */
  minExamples: number;
}

/** A profile: mean and precision of z, and the sufficient statistics for leave-one-out. */
export interface Profile {
  mu: Float64Array;
  prec: Float64Array;
  /** Σ weights (prior included), Σ z, Σ z² of the kept requests. */
  s0: number;
  s1: Float64Array;
  s2: Float64Array;
}

/**
 * Estimates a profile.
 *
 * @param benign Labelled benign embeddings `[nB][Z]` (trusted: never trimmed).
 * @param nB Their count.
 * @param unlabeled Unlabelled embeddings `[nU][Z]`.
 * @param nU Their count.
 * @param Z Embedding width.
 * @param config Prior, trimming, variance floor.
 * @returns The profile, or `null` when fewer than `minExamples` requests are given.
 */
export function buildProfile(
  benign: Float32Array,
  nB: number,
  unlabeled: Float32Array,
  nU: number,
  Z: number,
  config: ProfileConfig,
): Profile | null {
  if (nB + nU < config.minExamples || nB + nU === 0) return null;
  const p = fromRows(benign, nB, unlabeled, nU, null, Z, config);
  if (nU > 0 && config.trim > 0) {
    // Drop the most deviant unlabelled requests (likely attacks), then estimate again.
    const dev = new Float64Array(nU);
    for (let i = 0; i < nU; i++) {
      let d = 0;
      for (let j = 0; j < Z; j++) {
        d += deviation(unlabeled[i * Z + j] - p.mu[j], p.prec[j]);
      }
      dev[i] = d;
    }
    const drop = Math.floor(config.trim * nU);
    if (drop > 0) {
      const order = Array.from({ length: nU }, (_, i) => i).sort((a, b) => dev[b] - dev[a] || a - b);
      const keep = new Uint8Array(nU).fill(1);
      for (let k = 0; k < drop; k++) keep[order[k]] = 0;
      return fromRows(benign, nB, unlabeled, nU, keep, Z, config);
    }
  }
  return p;
}

function fromRows(
  benign: Float32Array,
  nB: number,
  unlabeled: Float32Array,
  nU: number,
  keep: Uint8Array | null,
  Z: number,
  c: ProfileConfig,
): Profile {
  const s1 = new Float64Array(Z), s2 = new Float64Array(Z);
  let s0 = c.priorWeight;
  for (let j = 0; j < Z; j++) {
    s1[j] = c.priorWeight * c.priorMean[j];
    s2[j] = c.priorWeight * (c.priorVar[j] + c.priorMean[j] * c.priorMean[j]);
  }
  const add = (rows: Float32Array, i: number) => {
    s0++;
    for (let j = 0; j < Z; j++) {
      const x = rows[i * Z + j];
      s1[j] += x;
      s2[j] += x * x;
    }
  };
  for (let i = 0; i < nB; i++) add(benign, i);
  for (let i = 0; i < nU; i++) if (!keep || keep[i]) add(unlabeled, i);
  const mu = new Float64Array(Z), prec = new Float64Array(Z);
  for (let j = 0; j < Z; j++) {
    mu[j] = s1[j] / s0;
    prec[j] = 1 / (Math.max(s2[j] / s0 - mu[j] * mu[j], 0) + c.minVar);
  }
  return { mu, prec, s0, s1, s2 };
}

/**
 * The deviations of one embedding from a profile, `q_j = deviation(z_j − mu_j, prec_j)`, written to `out`
 * at `at`; with `loo`, the embedding is taken out of the profile first (it was one of its benign requests).
 * If `dq` is given it receives `∂q_j/∂z_j` (for training).
 */
export function deviations(
  p: Profile,
  z: Float32Array,
  zAt: number,
  Z: number,
  loo: boolean,
  minVar: number,
  out: Float32Array,
  at: number,
  dq: Float32Array | null,
  dqAt: number,
): void {
  for (let j = 0; j < Z; j++) {
    const x = z[zAt + j];
    let mu = p.mu[j], prec = p.prec[j];
    if (loo && p.s0 > 1) {
      const s0 = p.s0 - 1;
      mu = (p.s1[j] - x) / s0;
      prec = 1 / (Math.max((p.s2[j] - x * x) / s0 - mu * mu, 0) + minVar);
    }
    const d = x - mu;
    out[at + j] = deviation(d, prec);
    if (dq) dq[dqAt + j] = DEVIATION_SCALE * 2 * prec * d / (1 + prec * d * d);
  }
}
