/**
 * The decision log: one JSON line per (sampled) decision. It carries no header values, no query string
 * and no body, so Authorization, Cookie and tokens in URLs never reach it.
 *
 * @module
 */
import type { Decision } from "./decision.ts";
import type { Mode } from "./options.ts";

const MAX_PATH = 256;

let lastMs = NaN, lastIso = "";

/** `new Date().toISOString()`, made once per millisecond (log lines of one millisecond share it). */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) lastIso = new Date(ms).toISOString(), lastMs = ms;
  return lastIso;
}

/** What a log line says besides the decision. */
export interface LogContext {
  /** The middleware's mode, logged beside the decision (a flagged request is an `allow` in `log` mode). */
  mode: Mode;
  /** The request's HTTP method (cut to 24 characters in the line). */
  method: string;
  /** The URL path (without the query). */
  path: string;
  /** `ort` or `ts`, or `null` when the engine did not load. */
  engine: string | null;
  /** Middleware time in microseconds (before the handler ran); 0 where timers are coarse (workerd). */
  us: number;
}

/**
 * The log line of a decision.
 *
 * @param d The decision.
 * @param ctx Request and timing details.
 * @returns One line of JSON, e.g. `{"msg":"taugate","decision":"block","score":0.93,...}`.
 */
export function decisionLogLine(d: Decision, ctx: LogContext): string {
  return JSON.stringify({
    msg: "taugate",
    time: isoNow(),
    request_id: d.requestId,
    decision: d.decision,
    score: d.score,
    tau: d.tau,
    flagged: d.flagged,
    mode: ctx.mode,
    tenant: d.tenant,
    head: d.head,
    head_version: d.headVersion,
    head_reason: d.headReason,
    inspected: d.inspected,
    model: d.model,
    engine: ctx.engine,
    method: ctx.method.length > 24 ? ctx.method.slice(0, 24) : ctx.method,
    path: ctx.path.length > MAX_PATH ? ctx.path.slice(0, MAX_PATH) + "…" : ctx.path,
    us: Math.round(ctx.us * 10) / 10,
    error: d.error,
  });
}
