/**
 * A scoring decision, and how it travels: response headers, forwarded-request headers, the log line.
 *
 * @module
 */
import type { DecisionHeaderNames } from "./options.ts";

/** What the middleware did: `allow`, `tag` (let through, flagged), `block` (403) or `error` (could not score). */
export type DecisionKind = "allow" | "tag" | "block" | "error";

/**
 * Which head scored the request: the tenant's own, the global head (no tenant or no head), the global head
 * because the tenant's head was fitted on another model (`stale`), or because the store failed.
 */
export type HeadSource = "tenant" | "global" | "stale" | "store-error";

/** A decision, available to handlers as `c.get("taugate")`. */
export interface Decision {
  /** What the middleware did with the request (`error` until scoring succeeds). */
  decision: DecisionKind;
  /** σ(w·z + b) in [0, 1]; `null` when scoring failed. */
  score: number | null;
  /** The threshold applied; `null` when the model did not load. */
  tau: number | null;
  /** Score at or above τ (whatever the mode did with it). */
  flagged: boolean;
  /** The tenant id, or `null`. */
  tenant: string | null;
  /** Which head scored: `tenant`, `global`, `stale` or `store-error` (see `HeadSource`). */
  head: HeadSource;
  /** The tenant head's version when `head` is `tenant`. */
  headVersion: number | null;
  /** The model id, or `null` when the model did not load. */
  model: string | null;
  /** `cf-ray` or a generated id. */
  requestId: string;
  /** Why scoring failed (for the log; never sent to the client). */
  error?: string;
  /** Why the global head replaced the tenant's (for the log). */
  headReason?: string;
  /**
   * `partial`: part of the request was not inspected (its body went on past the bytes read, or it needed
   * more overflow views than allowed); the score is of what was.
   */
  inspected?: "partial";
}

/**
 * A score as the decision header carries it: at most 4 significant digits (a reader compares scores; more
 * digits would only help a client tune a payload against τ).
 *
 * @param score A score in [0, 1].
 * @returns Its text, e.g. `"0.9731"`, `"0.00012"`.
 * @example
 * ```ts
 * import { formatScore } from "./decision.ts";
 * console.log(formatScore(0.99996712)); // "1"
 * console.log(formatScore(0.0001234567)); // "0.0001235"
 * ```
 */
export function formatScore(score: number): string {
  return String(Number(score.toPrecision(4)));
}

/**
 * The decision headers as `[name, value]` pairs (no score header when there is no score).
 *
 * @param d The decision.
 * @param names The header names.
 * @param decision The decision header's value, if not `d.decision` (`would-block` in `log` mode).
 */
export function decisionHeaderPairs(
  d: Decision,
  names: DecisionHeaderNames,
  decision: string = d.decision,
): [string, string][] {
  const pairs: [string, string][] = [
    [names.decision, decision],
    [names.model, d.model ?? "-"],
    [names.tenant, d.tenant ?? "-"],
    [names.head, d.head],
  ];
  if (d.score !== null) pairs.push([names.score, formatScore(d.score)]);
  return pairs;
}

/**
 * Sets the decision headers on a response's headers.
 *
 * @param h The headers.
 * @param d The decision.
 * @param names The header names.
 * @param decision The decision header's value, if not `d.decision` (`would-block` in `log` mode).
 * @returns `false`, with nothing changed, when the headers are immutable (a `fetch` response from an origin).
 */
export function stampHeaders(
  h: Headers,
  d: Decision,
  names: DecisionHeaderNames,
  decision: string = d.decision,
): boolean {
  // The headers of decisionHeaderPairs, in its order, without building the pairs (once per response).
  try {
    h.set(names.decision, decision);
  } catch {
    return false;
  }
  h.set(names.model, d.model ?? "-");
  h.set(names.tenant, d.tenant ?? "-");
  h.set(names.head, d.head);
  if (d.score !== null) h.set(names.score, formatScore(d.score));
  else h.delete(names.score);
  return true;
}
