/**
 * The guard: before a tenant's new head is stored, it must still tell attacks from the tenant's traffic.
 *
 * 1. Canaries: its detection of the model's canary attacks at its τ may fall at most `margin` below the
 *    global head's at the worker's τ (a τ of the tenant's own that would blind it fails here).
 * 2. The tenant's benign requests: the share of the upload's benign examples it flags at its τ (scored out of
 *    fold: by heads that did not see them) may rise at most `margin` (plus one request, so that a single
 *    request of a small upload cannot refuse it) above the share the global head flags.
 *    A head taught that attacks are benign (a mislabelled or poisoned upload) keeps catching the canaries
 *    only with a τ so low that it flags the tenant's own requests, and fails here.
 * 3. Consistency: a request labelled both benign and attack refuses the head (the tenant must pick one).
 *
 * A head with a residual (`heads/residual.ts`) has its τ matched on the canaries' embeddings alone (which
 * absorbs a change of scale), while check 1 scores the canaries with their features, residual included
 * (when the model ships the canaries' records): a head that learnt an attack's words as benign, from a
 * mislabelled or poisoned upload, loses canaries that carry them and fails check 1. A correction limited to
 * its endpoints (`HeadParams.re`) is checked as if every canary came to one of them (its residual applied to
 * them all): the canaries' own endpoints are the model's, not the tenant's, and what it learnt would reach
 * an attack on the corrected endpoints. Its support gate (`HeadParams.rs`) is left aside the same way: the
 * residual counts in full, as for an attack made of the upload's own words.
 *
 * A head that fails is refused with the figures, unless the operator forces it. Canaries are scored on z
 * alone (see `src/heads/calibrate.ts`); the benign examples' out-of-fold scores include the novelty term of
 * a head with a site profile.
 *
 * @module
 */
import { detectionRate } from "../heads/calibrate.ts";
import type { ResidualFeatures } from "../heads/residual.ts";
import type { HeadParams } from "../model/types.ts";

export { detectionRate };

/** What the guard measured, stored with the head and returned with every upload. */
export interface GuardFigures {
  /** The largest fall (canaries) or rise (benign flagged, plus one request) allowed, absolute. */
  margin: number;
  /** Check 1: detection of the model's canary attacks, global head against the new head. */
  canaries: {
    /** Canaries scored. */
    count: number;
    /** The global head's detection rate at `globalTau`. */
    global: number;
    globalTau: number;
    /** The new head's detection rate at `tau`. */
    tenant: number;
    tau: number;
    /** `global − tenant`. */
    drop: number;
    passed: boolean;
  };
  /** Check 2: the share of the upload's benign examples flagged, global head against the new head. */
  benign: {
    /** The upload's benign examples (0: the check did not run, fewer than two). */
    count: number;
    /** Share the global head flags at `globalTau`. */
    global: number;
    /** Share the new head flags at `tau`, out of fold. */
    tenant: number;
    /** `tenant − global`. */
    rise: number;
    passed: boolean;
  };
  /** Requests labelled both benign and attack in the upload (any refuses the head). */
  conflicts: number;
  /** Whether every check passed (else the head is refused unless forced). */
  passed: boolean;
  /** The operator stored the head although the guard refused it. */
  forced: boolean;
}

/** What the guard looks at. */
export interface GuardInput {
  /** The canary embeddings. */
  canaries: readonly Float32Array[];
  /**
   * The canaries' features, in the same order (`null`: the model ships embeddings only). With them the new
   * head's detection includes its residual: a head taught that an attack's words are benign misses the
   * canaries that carry them.
   */
  canaryFeatures?: readonly ResidualFeatures[] | null;
  /** Requests of the upload labelled both benign and attack (see `conflictingLabels`). */
  conflicts?: number;
  /** The global head and the worker's τ. */
  global: { head: HeadParams; tau: number };
  /** The new head and the τ it will be used with. */
  tenant: { head: HeadParams; tau: number };
  /** The upload's benign embeddings, and their out-of-fold scores under the new head (`null`: not enough). */
  benign: { z: readonly Float32Array[]; outOfFold: readonly number[] | null };
}

// Rates are multiples of 1/n: a little slack so that a change of exactly the margin passes.
const SLACK = 1e-12;

/**
 * Checks a new head.
 *
 * @param input Canaries, both heads and their τ, the upload's benign examples.
 * @param margin The largest fall or rise allowed (absolute, e.g. 0.05).
 * @param force Store even when refused (operator only; recorded).
 * @returns The figures; `passed` says whether both checks passed.
 * @example
 * ```ts
 * import { guardCheck } from "./guard.ts";
 * const w = new Float32Array([4]), canaries = [new Float32Array([1])];
 * const g = guardCheck({
 *   canaries,
 *   global: { head: { w, b: 0 }, tau: 0.5 },
 *   tenant: { head: { w, b: -9 }, tau: 0.5 },
 *   benign: { z: [], outOfFold: null },
 * }, 0.05, false);
 * console.log(g.passed); // false: the new head misses the canary the global head catches
 * ```
 */
export function guardCheck(input: GuardInput, margin: number, force: boolean): GuardFigures {
  const { canaries, global, tenant, benign } = input;
  const cg = detectionRate(global.head, canaries, global.tau);
  // As if every canary came to one of the correction's endpoints and were made of its requests' words.
  const everywhere = tenant.head.re === undefined && tenant.head.rs === undefined
    ? tenant.head
    : { ...tenant.head, re: undefined, rs: undefined, rg: undefined, rb: undefined, rp: undefined };
  const ct = detectionRate(everywhere, canaries, tenant.tau, input.canaryFeatures ?? null);
  const canaryPassed = cg - ct <= margin + SLACK;
  let b = { count: 0, global: 0, tenant: 0, rise: 0, passed: true };
  if (benign.outOfFold !== null && benign.z.length > 0) {
    const bg = detectionRate(global.head, benign.z, global.tau);
    let hit = 0;
    for (const s of benign.outOfFold) if (s >= tenant.tau) hit++;
    const bt = hit / benign.outOfFold.length;
    const allowed = margin + 1 / benign.outOfFold.length + SLACK;
    b = { count: benign.z.length, global: bg, tenant: bt, rise: bt - bg, passed: bt - bg <= allowed };
  }
  const conflicts = input.conflicts ?? 0;
  const passed = canaryPassed && b.passed && conflicts === 0;
  return {
    conflicts,
    margin,
    canaries: {
      count: canaries.length,
      global: cg,
      globalTau: global.tau,
      tenant: ct,
      tau: tenant.tau,
      drop: cg - ct,
      passed: canaryPassed,
    },
    benign: b,
    passed,
    forced: !passed && force,
  };
}
