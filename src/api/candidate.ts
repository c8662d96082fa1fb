/**
 * A candidate head for a tenant: fitted from the upload (`fitTenantHead`), given its τ (the tenant's, or
 * matched on the canaries) and checked by the guard — everything an upload computes before it stores
 * anything, in one synchronous-ish pass whose time is measured.
 *
 * @module
 */
import { type AdaptConfig, type Anchor, residualTau } from "../heads/adapt.ts";
import type { Engine, HeadParams } from "../model/types.ts";
import type { RequestRecord } from "../record/record.ts";
import { tenantTau } from "../heads/calibrate.ts";
import type { ResidualFeatures } from "../heads/residual.ts";
import { outOfFoldBenignScores } from "./calibrate.ts";
import { fitTenantHead, type TenantFit } from "./fit.ts";
import { guardCheck, type GuardFigures } from "./guard.ts";

/** Milliseconds of each phase (`performance.now()` around synchronous work; 0 on workerd). */
export interface CandidateMs {
  /** Featurising the upload's records (and a correction's contrasts). */
  features: number;
  /** Embedding the labelled records (and the contrasts) with the engine. */
  embed: number;
  /** `adaptHead`: fitting the head. */
  adapt: number;
  /** τ matched on the canaries and the out-of-fold scores (up to 5 more fits). */
  calibrate: number;
  /** `guardCheck`: scoring the canaries and the benign examples with both heads. */
  guard: number;
  /** The whole of `candidateHead`. */
  total: number;
}

/** A fitted, checked head. */
export interface Candidate {
  /** The fitted head, with its examples, counts and timings. */
  fit: TenantFit;
  /** The τ the head is to be used with, in [0, 1] (see `tauSource`). */
  tau: number;
  /** `tenant`: given with the upload; `canaries`: matched on the canaries; `scale`: a residual head's. */
  tauSource: "tenant" | "canaries" | "scale";
  /** The guard's figures and verdict (`guard.passed`; `guard.forced` when `force` overrode a refusal). */
  guard: GuardFigures;
  /** Milliseconds of each phase. */
  ms: CandidateMs;
}

/** What a candidate is made from. */
export interface CandidateInput {
  /** The engine that scores the tenant's traffic (it embeds the upload). */
  engine: Engine;
  /** The global head (the meta-learned init). */
  globalHead: HeadParams;
  /** The worker's τ. */
  globalTau: number;
  /** The model's adaptation settings (`adaptConfigOf(meta)`). */
  config: AdaptConfig;
  /** The model's canary attacks, embedded (`canaryEmbeddings`), for the guard and the head's matched τ. */
  canaries: readonly Float32Array[];
  /** The canaries' features (`canarySet`), so the guard sees a residual's effect on them. */
  canaryFeatures?: readonly ResidualFeatures[] | null;
  /** The upload: labelled records are examples, unlabelled ones the tenant's traffic (site profile). */
  records: readonly RequestRecord[];
  /** The tenant's own τ, if it gave one. */
  tau?: number;
  /** The guard's margin (`ApiConfig.guardMargin`): largest fall or rise allowed, absolute. */
  margin: number;
  /** Keep the head even when the guard refuses it (operator only; recorded as `guard.forced`). */
  force: boolean;
}

/**
 * Fits, sets τ and checks.
 *
 * @param input Engine, global head and τ, adaptation settings, canaries, records, options.
 * @returns The candidate, with the guard's figures (`guard.passed`, `guard.forced`).
 * @example
 * ```ts ignore
 * const c = await candidateHead({ engine, globalHead: engine.head, globalTau: engine.meta.tau, config,
 *   canaries: await canaryEmbeddings(engine), records, margin: 0.05, force: false });
 * ```
 */
export async function candidateHead(input: CandidateInput): Promise<Candidate> {
  const { globalHead, globalTau, config, canaries } = input;
  const t0 = performance.now();
  const cf = input.canaryFeatures;
  const anchors: Anchor[] = cf && cf.length === canaries.length
    ? canaries.map((z, i) => ({ z, features: cf[i] }))
    : [];
  // The τ the head is fitted toward: the tenant's own, else the worker's (then carried through its scale).
  const fitTau = input.tau ?? globalTau;
  const fit = await fitTenantHead(input.engine, globalHead, config, input.records, anchors, fitTau);
  const tc = performance.now();
  // A residual head's τ is the worker's carried through its change of scale; another head's is matched on
  // the canaries.
  const tau = input.tau ??
    (fit.trust ? residualTau(fit.trust, globalTau) : tenantTau(fit.head, canaries, globalHead, globalTau));
  const outOfFold = outOfFoldBenignScores(
    globalHead,
    fit.examples,
    config,
    fit.unlabeled,
    anchors,
    fitTau,
    fit.contrasts,
  );
  const tg = performance.now();
  const guard = guardCheck(
    {
      canaries,
      canaryFeatures: input.canaryFeatures ?? null,
      conflicts: conflictingLabels(input.records),
      global: { head: globalHead, tau: globalTau },
      tenant: { head: fit.head, tau },
      benign: { z: fit.examples.filter((e) => e.label === 0).map((e) => e.z), outOfFold },
    },
    input.margin,
    input.force,
  );
  const end = performance.now();
  return {
    fit,
    tau,
    tauSource: input.tau !== undefined ? "tenant" : fit.trust ? "scale" : "canaries",
    guard,
    ms: { ...fit.ms, calibrate: tg - tc, guard: end - tg, total: end - t0 },
  };
}

/**
 * How many distinct requests of an upload carry both labels (the same method, URL, headers and body, once
 * benign and once attack): contradictory labels, which the guard refuses.
 *
 * @param records The upload.
 * @returns The number of such requests.
 */
export function conflictingLabels(records: readonly RequestRecord[]): number {
  const seen = new Map<string, number>();
  for (const r of records) {
    if (r.label !== 0 && r.label !== 1) continue;
    const key = JSON.stringify([r.method, r.url, r.headers ?? {}, r.body ?? ""]);
    seen.set(key, (seen.get(key) ?? 0) | (r.label === 1 ? 2 : 1));
  }
  let n = 0;
  for (const v of seen.values()) if (v === 3) n++;
  return n;
}
