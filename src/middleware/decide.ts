/**
 * The one decision path: which head scores a request, its τ, the score and what the mode does with it. The
 * middleware and the tenant API's dry run (`POST /_taugate/tenants/:t/score`) both call `decide`, so the
 * dry run answers what the worker would do with the same request and the same stored head.
 *
 * @module
 */
import { scoreWithHead } from "../heads/score.ts";
import type { HeadFeatures } from "../heads/score.ts";
import type { HeadParams, ModelMeta } from "../model/types.ts";
import type { TenantHead } from "../store/head_doc.ts";
import type { DecisionKind, HeadSource } from "./decision.ts";
import type { Mode } from "./options.ts";

/** What `decide` is given. */
export interface DecideInput {
  /** The tenant's stored head, or `null` (no tenant, no head, or the global head asked for). */
  tenantHead: TenantHead | null;
  /** Why the store could not say (the middleware's read failed or timed out); the global head scores. */
  storeError?: string;
  /** The model's card: a tenant head fits it when fitted for its `modelId` and `embedDim`. */
  meta: ModelMeta;
  /** The model's global head (`meta.head` as float32), which scores whenever the tenant's cannot. */
  globalHead: HeadParams;
  /** The worker's τ (the `tau` option, else the model's). */
  globalTau: number;
  /** The mode, which turns a flagged score into `block`, `tag` or (`log`, `off`) `allow`. */
  mode: Mode;
  /** The request's embedding by the backbone (length `meta.embedDim`). */
  z: Float32Array;
  /** The request's structure tokens (a head's site profile). */
  structure?: ArrayLike<number>;
  /** How many entries of `structure` are valid (default: all). */
  nStructure?: number;
  /** The request's features (a head's residual and value profile). */
  features?: HeadFeatures;
}

/** What was decided. */
export interface Verdict {
  /** The score in [0, 1], by the head that scored. */
  score: number;
  /** The τ the score was compared with: the tenant head's own, else `globalTau`. */
  tau: number;
  /** Which head scored (a tenant head that fails is replaced by the global head: `stale`, `store-error`). */
  head: HeadSource;
  /** The tenant head's version when `head` is `tenant`. */
  headVersion: number | null;
  /** Why the global head scored instead of the tenant's (for the log, never for a client). */
  headReason?: string;
  /** Whether the score is at or above τ, whatever the mode does with it. */
  flagged: boolean;
  /** `allow`, `tag` or `block` (`log` and `off` allow). */
  decision: Exclude<DecisionKind, "error">;
}

/**
 * Whether a stored tenant head can score with this model (else it is `stale`: fitted for another model).
 *
 * @param t The tenant head.
 * @param meta The model's card.
 */
export function headFitsModel(t: TenantHead, meta: ModelMeta): boolean {
  return (t.modelId === undefined || t.modelId === meta.modelId) && t.head.w.length === meta.embedDim;
}

/**
 * Chooses the head, scores and decides. A tenant head fitted for another model is `stale` (the global head
 * scores); a tenant head that gives a score outside [0, 1] (malformed) falls back to the global head as a
 * `store-error`.
 *
 * @param input The stored head, the model, the mode and the request's embedding and features.
 * @returns The verdict.
 * @throws {Error} when even the global head's score is not in [0, 1].
 */
export function decide(input: DecideInput): Verdict {
  const { meta, globalHead, globalTau, z } = input;
  let head = globalHead, tau = globalTau, source: HeadSource = "global";
  let headVersion: number | null = null, headReason: string | undefined;
  const t = input.tenantHead;
  if (input.storeError !== undefined) {
    source = "store-error";
    headReason = input.storeError;
  } else if (t !== null) {
    if (!headFitsModel(t, meta)) {
      source = "stale";
      headReason = `head v${t.version} was fitted for ${t.modelId ?? `Z=${t.head.w.length}`}`;
    } else {
      head = t.head, source = "tenant", headVersion = t.version;
      if (t.tau !== undefined) tau = t.tau;
    }
  }
  let score = scoreWithHead(head, z, input.structure, input.nStructure, input.features);
  if (!(score >= 0 && score <= 1) && source === "tenant") {
    // A malformed tenant head (e.g. novelty weights of the wrong length) must not fail the request.
    headReason = `head v${headVersion} gave the score ${score}`;
    headVersion = null;
    source = "store-error";
    head = globalHead;
    tau = globalTau;
    score = scoreWithHead(head, z);
  }
  if (!(score >= 0 && score <= 1)) throw new Error(`score ${score} is not in [0, 1]`);
  const flagged = score >= tau;
  const v: Verdict = {
    score,
    tau,
    head: source,
    headVersion,
    flagged,
    decision: decisionOf(flagged, input.mode),
  };
  if (headReason !== undefined) v.headReason = headReason;
  return v;
}

/** What a mode does with a request, flagged or not: `allow`, `tag` or `block` (`log` and `off` allow). */
function decisionOf(flagged: boolean, mode: DecideInput["mode"]): Verdict["decision"] {
  return !flagged || mode === "log" || mode === "off" ? "allow" : mode === "block" ? "block" : "tag";
}

/**
 * A verdict with its request flagged whatever its score (a request not inspected whole, under the
 * `overflow` option's `uninspected: "flag"`), decided as the mode decides a flagged request.
 *
 * @param v The verdict.
 * @param mode The mode.
 */
export function flagVerdict(v: Verdict, mode: DecideInput["mode"]): Verdict {
  return v.flagged ? v : { ...v, flagged: true, decision: decisionOf(true, mode) };
}
