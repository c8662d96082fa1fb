/**
 * τ proposals from a tenant's learnt score histogram.
 *
 * For a target false-positive rate f: the lowest τ (a bucket edge) such that, among the tenant's ordinary
 * requests (`n` of them), at most `k` scored in [τ, τ_max), where `k` is the largest count that a true rate of
 * f would exceed with probability at least 95 % (binomial): with 95 % confidence the site's ordinary
 * traffic is flagged at most at rate f. When `n` is too small for any `k` (n·f < 3, "not settled"), τ is
 * the edge above the highest ordinary score seen.
 *
 * τ_max is where the canaries say attacks begin: the highest τ at which the head still catches the canaries
 * the guard asks for. Learnt mass at or above it is counted as contamination (attacks in the learning
 * traffic: they never raise τ), and no proposal goes above it, whatever the traffic (the poisoning bound).
 * No proposal goes below `floor` (even odds by default).
 *
 * @module
 */
import { logit, sigmoid } from "../util/math.ts";
import { bucketEdge, bucketOf, HIST_BUCKETS, HIST_LO, HIST_STEP } from "./state.ts";

/** The false-positive rates proposals are made for. */
export const TARGET_FPRS: readonly number[] = Object.freeze([1e-2, 1e-3, 1e-4]);
/** Confidence of a settled proposal. */
export const CONFIDENCE = 0.95;

/** One proposal. */
export interface Proposal {
  /** The target false-positive rate on the tenant's ordinary traffic. */
  fpr: number;
  /** The proposed τ (a score: a bucket's lower edge, unrounded, so that it means what the histogram says). */
  tau: number;
  /** Share of everything learnt (contamination included) that scores at or above τ. */
  expected_block_rate: number;
  /** Enough ordinary requests for the 95 % bound (`n·f ≥ 3`). */
  settled: boolean;
  /** Ordinary requests still needed to settle (0 when settled). */
  needed: number;
  /** `n·f / 3` capped at 1: how far learning has got for this target. */
  progress: number;
  /** τ was held at τ_max (the canaries) or at the floor. */
  limit: "canaries" | "floor" | null;
}

/** The largest k with P(Binomial(n, f) ≤ k) ≤ 1 − confidence, or −1 when even k = 0 is more likely. */
export function allowedExceedances(n: number, f: number, confidence = CONFIDENCE): number {
  const alpha = 1 - confidence;
  if (n <= 0 || f <= 0) return -1;
  if (f >= 1) return n;
  let logP = n * Math.log1p(-f); // P(0)
  let cdf = Math.exp(logP);
  if (cdf > alpha) return -1;
  const r = Math.log(f) - Math.log1p(-f);
  for (let k = 0; k < n; k++) {
    logP += Math.log(n - k) - Math.log(k + 1) + r;
    const next = cdf + Math.exp(logP);
    if (next > alpha) return k;
    cdf = next;
  }
  return n;
}

/** What `propose` answers. */
export interface Proposals {
  /** Requests in the histogram. */
  requests: number;
  /** Share of them at or above τ_max (attacks in the learning traffic, by the canaries' measure). */
  contamination: number;
  /** τ_max as a score (unrounded: proposals are capped at exactly it). */
  tauMax: number;
  /** One proposal per target, in the order asked. */
  proposals: Proposal[];
}

const sig4 = (x: number) => Number(x.toPrecision(4));

/**
 * Proposes τ for each target false-positive rate.
 *
 * @param hist The logit histogram (`HIST_BUCKETS` counts).
 * @param tauMax The highest τ the canaries allow (a score in (0, 1)).
 * @param fprs Targets (default `TARGET_FPRS`).
 * @param floor The lowest τ proposed (a score; default 0.5).
 */
export function propose(
  hist: ArrayLike<number>,
  tauMax: number,
  fprs: readonly number[] = TARGET_FPRS,
  floor = 0.5,
): Proposals {
  let total = 0;
  for (let i = 0; i < HIST_BUCKETS; i++) total += hist[i];
  // Buckets from `top` on are at or above τ_max (the bucket holding τ_max counts as above: conservative for
  // the ordinary mass, which is what τ is chosen on).
  const top = bucketOf(logit(tauMax));
  let above = 0;
  for (let i = top; i < HIST_BUCKETS; i++) above += hist[i];
  const n = total - above;
  // The first bucket whose lower edge is at or above the floor.
  const floorBucket = Math.min(Math.max(0, Math.ceil((logit(floor) - HIST_LO) / HIST_STEP)), top);
  const proposals = fprs.map((f): Proposal => {
    const k = Math.max(allowedExceedances(n, f), 0);
    // Lowest bucket j with mass[j, top) ≤ k.
    let j = top, mass = 0;
    while (j > 0 && mass + hist[j - 1] <= k) mass += hist[--j];
    let limit: Proposal["limit"] = null, tau: number;
    if (j < floorBucket) {
      j = floorBucket;
      limit = "floor";
    }
    if (j >= top) {
      tau = tauMax;
      limit = "canaries";
    } else tau = sigmoid(bucketEdge(j));
    let blocked = 0;
    for (let i = j; i < HIST_BUCKETS; i++) blocked += hist[i];
    const progress = Math.min(1, (n * f) / 3);
    return {
      fpr: f,
      tau: Math.min(tau, tauMax),
      expected_block_rate: total > 0 ? sig4(blocked / total) : 0,
      settled: progress >= 1,
      needed: progress >= 1 ? 0 : Math.ceil(3 / f - n),
      progress: Math.round(progress * 1000) / 1000,
      limit,
    };
  });
  return { requests: total, contamination: total > 0 ? sig4(above / total) : 0, tauMax, proposals };
}
