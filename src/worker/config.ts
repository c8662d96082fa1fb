/**
 * The standalone worker's configuration, from environment variables (Deno) or wrangler `vars` (workerd).
 *
 * | variable | default | meaning |
 * | --- | --- | --- |
 * | `TAUGATE_MODE` | `block` | `block`, `tag`, `log` or `off` |
 * | `TAUGATE_TAU` | the model's τ | decision threshold in [0, 1] |
 * | `TAUGATE_ENGINE` | `ort` | `ort` (onnxruntime-web, WASM) or `ts` (TypeScript forward pass) |
 * | `TAUGATE_FAIL_MODE` | `open` | `open` or `closed` |
 * | `TAUGATE_LOG_SAMPLE` | `0.01` | fraction of `allow` decisions logged |
 * | `TAUGATE_LOG_FLAGGED_SAMPLE` | `1` | fraction of flagged (score ≥ τ) and `error` decisions logged |
 * | `TAUGATE_BODY_CAP` | the spec's cap | body bytes read for features |
 * | `TAUGATE_OVERFLOW` | `score` | what the feature caps cut off is scored as overflow views, and a request's most suspicious values alone as value views; `flag`: a request not inspected whole (body past `TAUGATE_INSPECT_BYTES`, or more than 16 views) is flagged too; `off`: only what the caps read is scored |
 * | `TAUGATE_INSPECT_BYTES` | `65536` | body bytes inspected in all (the body cap's included) |
 * | `TAUGATE_EXCLUDE_PATHS` | none | comma-separated `/exact`, `/prefix/*`, `*.suffix` |
 * | `TAUGATE_EXCLUDE_CLIENTS` | none | comma-separated client addresses and CIDR ranges not scored (e.g. a monitor's) |
 * | `TAUGATE_EXCLUDE_HEADER` | none | `name` or `name: value`: requests carrying that header (and value, e.g. a monitor's secret) are not scored |
 * | `TAUGATE_EXPOSE` | `off` | `on`: clients get the decision headers and the 403's score and τ (debugging only) |
 * | `TAUGATE_LEARN` | `off` | `on`: learning mode (each tenant's score distribution and site profile, from live traffic) |
 * | `TAUGATE_LEARN_FLUSH_S` | `300` | seconds between two writes of a tenant's learning shard by one isolate (at least 1) |
 * | `TAUGATE_CLIENT_HEADER` | none | behind your own proxy: the header holding the client's address (its first value), for learning's per-client bound |
 * | `ORIGIN` | none | forward allowed requests there; without it, the echo app answers |
 *
 * @module
 */
import { z } from "zod";
import { FEATURE_SPEC, INSPECT_BYTES } from "../features/mod.ts";
import {
  DEFAULT_FAIL_MODE,
  DEFAULT_MODE,
  FAIL_MODES,
  type FailMode,
  type Mode,
  MODES,
} from "../middleware/options.ts";
import { settingsFromEnv } from "../util/env.ts";
import { checkOrigin } from "./forward.ts";
import { parseCidr } from "../middleware/cidr.ts";
import { isHeaderName } from "../middleware/headers.ts";
import { parses } from "../util/zod.ts";
import type { HeaderRule } from "../middleware/options.ts";

/** A comma-separated list, trimmed, without empty items. */
function list(v: string): string[] {
  return v.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** `name` or `name: value` as a header rule, or `null` when the name is not a header name. */
function headerRule(v: string): HeaderRule | null {
  const colon = v.indexOf(":");
  const name = (colon < 0 ? v : v.slice(0, colon)).trim().toLowerCase();
  const value = colon < 0 ? "" : v.slice(colon + 1).trim();
  if (!isHeaderName(name)) return null;
  return value === "" ? { name } : { name, value };
}

/** The worker's settings. */
export interface WorkerConfig {
  /** `TAUGATE_MODE`: what the middleware does with a score (default `block`). */
  mode: Mode;
  /** `TAUGATE_TAU`: the decision threshold in [0, 1]; `undefined`: the model's τ. */
  tau: number | undefined;
  /** `TAUGATE_ENGINE`: `ort` (onnxruntime-web, WASM; the default) or `ts` (TypeScript forward pass). */
  engine: "ort" | "ts";
  /** `TAUGATE_FAIL_MODE`: `open` (default) lets requests through when scoring fails, `closed` answers 503. */
  failMode: FailMode;
  /** `TAUGATE_EXPOSE=on`: decision headers and the 403's score and τ go to clients too (debugging only). */
  exposeToClient: boolean;
  /** `TAUGATE_LOG_SAMPLE`: fraction of `allow` decisions logged, in [0, 1] (default 0.01). */
  logSample: number;
  /** `TAUGATE_LOG_FLAGGED_SAMPLE`: fraction of flagged and `error` decisions logged, in [0, 1] (default 1). */
  logFlaggedSample: number;
  /** `TAUGATE_BODY_CAP`: bytes of the body read for features (default: the feature spec's cap, its maximum). */
  bodyCap: number;
  /** `TAUGATE_OVERFLOW`: `score` (default), `flag` or `off` (the middleware's `overflow` option). */
  overflow: "score" | "flag" | "off";
  /** `TAUGATE_INSPECT_BYTES`: body bytes inspected in all, for overflow views (default 65 536). */
  inspectBytes: number;
  /** `TAUGATE_EXCLUDE_PATHS`, split at commas: `/exact`, `/prefix/*` or `*.suffix` paths not scored. */
  excludePaths: string[];
  /** `TAUGATE_EXCLUDE_CLIENTS`: addresses and CIDR ranges not scored. */
  excludeClients: string[];
  /** `TAUGATE_EXCLUDE_HEADER`: a header (and its value) whose requests are not scored. */
  excludeHeaders: HeaderRule[];
  /** `ORIGIN`, checked, without a trailing slash: where allowed requests go; `undefined`: the echo app answers. */
  origin: string | undefined;
  /** `TAUGATE_LEARN=on`: learning mode. */
  learn: boolean;
  /** `TAUGATE_LEARN_FLUSH_S`, in ms. */
  learnFlushMs: number;
  /** `TAUGATE_CLIENT_HEADER`: the header a proxy in front sets to the client's address (lower case). */
  clientHeader: string | undefined;
}

const num = (lo: number, hi: number) =>
  z.string().trim().refine((s) => s !== "" && Number.isFinite(Number(s)), { message: "must be a number" })
    .transform(Number).pipe(z.number().min(lo).max(hi));

const schema = z.object({
  TAUGATE_MODE: z.enum(MODES).default(DEFAULT_MODE),
  TAUGATE_TAU: num(0, 1).optional(),
  TAUGATE_ENGINE: z.enum(["ort", "ts"]).default("ort"),
  TAUGATE_FAIL_MODE: z.enum(FAIL_MODES).default(DEFAULT_FAIL_MODE),
  TAUGATE_LOG_SAMPLE: num(0, 1).default(0.01),
  TAUGATE_LOG_FLAGGED_SAMPLE: num(0, 1).default(1),
  TAUGATE_BODY_CAP: num(0, FEATURE_SPEC.caps.body).pipe(z.number().int()).default(FEATURE_SPEC.caps.body),
  TAUGATE_OVERFLOW: z.enum(["score", "flag", "off"]).default("score"),
  TAUGATE_INSPECT_BYTES: num(0, 1 << 24).pipe(z.number().int()).default(INSPECT_BYTES),
  TAUGATE_EXCLUDE_PATHS: z.string().default(""),
  TAUGATE_EXCLUDE_CLIENTS: z.string().default("").refine(parses((v: string) => list(v).forEach(parseCidr)), {
    message: "must be comma-separated IP addresses or CIDR ranges",
  }),
  TAUGATE_EXCLUDE_HEADER: z.string().default("").refine((v) => v.trim() === "" || headerRule(v) !== null, {
    message: "must be a header name, or `name: value`",
  }),
  TAUGATE_EXPOSE: z.enum(["on", "off"]).default("off"),
  TAUGATE_LEARN: z.enum(["on", "off"]).default("off"),
  TAUGATE_LEARN_FLUSH_S: num(1, 86_400).default(300),
  TAUGATE_CLIENT_HEADER: z.string().trim().toLowerCase().refine(isHeaderName, {
    message: "must be an HTTP header name, e.g. x-forwarded-for",
  }).optional(),
  ORIGIN: z.string().optional(),
});

/** The names `workerConfigFromEnv` reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.freeze(Object.keys(schema.shape));

/**
 * Reads the worker's configuration. Empty values count as unset.
 *
 * @param env Environment variables (`Deno.env.toObject()`) or a Worker's `env` (bindings are ignored).
 * @param defaults Defaults that differ by runtime (e.g. `{ TAUGATE_ENGINE: "ts" }`).
 * @returns The configuration.
 * @throws {TypeError} `taugate: invalid TAUGATE_TAU: ...`, naming the first bad variable.
 * @example
 * ```ts
 * import { workerConfigFromEnv } from "./config.ts";
 * const config = workerConfigFromEnv({ TAUGATE_MODE: "tag", TAUGATE_TAU: "0.8" });
 * console.log(config.mode, config.tau); // "tag" 0.8
 * ```
 */
export function workerConfigFromEnv(
  env: Record<string, unknown>,
  defaults: Record<string, string> = {},
): WorkerConfig {
  const c = settingsFromEnv(schema, env, defaults);
  let origin: string | undefined;
  if (c.ORIGIN !== undefined) {
    try {
      origin = checkOrigin(c.ORIGIN);
    } catch (err) {
      throw new TypeError(`taugate: invalid ${(err as Error).message}`);
    }
  }
  return {
    mode: c.TAUGATE_MODE,
    tau: c.TAUGATE_TAU,
    engine: c.TAUGATE_ENGINE,
    failMode: c.TAUGATE_FAIL_MODE,
    logSample: c.TAUGATE_LOG_SAMPLE,
    logFlaggedSample: c.TAUGATE_LOG_FLAGGED_SAMPLE,
    bodyCap: c.TAUGATE_BODY_CAP,
    overflow: c.TAUGATE_OVERFLOW,
    inspectBytes: c.TAUGATE_INSPECT_BYTES,
    excludePaths: list(c.TAUGATE_EXCLUDE_PATHS),
    excludeClients: list(c.TAUGATE_EXCLUDE_CLIENTS),
    excludeHeaders: c.TAUGATE_EXCLUDE_HEADER.trim() === "" ? [] : [headerRule(c.TAUGATE_EXCLUDE_HEADER)!],
    exposeToClient: c.TAUGATE_EXPOSE === "on",
    origin,
    learn: c.TAUGATE_LEARN === "on",
    learnFlushMs: c.TAUGATE_LEARN_FLUSH_S * 1000,
    clientHeader: c.TAUGATE_CLIENT_HEADER,
  };
}

/** The Deno entry's own settings (`src/worker/deno.ts`). */
export interface DenoConfig {
  /** `PORT` (0: any free port). */
  port: number;
  /** `HOST`. */
  hostname: string;
  /** `TAUGATE_MODEL`: the model file, relative to the checkout unless absolute. */
  modelPath: string;
  /** `TAUGATE_KV_PATH`: the Deno KV file, relative to the checkout unless absolute. */
  kvPath: string;
}

const denoSchema = z.object({
  PORT: num(0, 65_535).pipe(z.number().int()).default(8000),
  HOST: z.string().trim().min(1).max(253).default("127.0.0.1"),
  TAUGATE_MODEL: z.string().min(1).max(4096).default("models/taugate.onnx"),
  TAUGATE_KV_PATH: z.string().min(1).max(4096).default(".taugate/kv.sqlite3"),
});

/** The names `denoConfigFromEnv` reads (Deno only). */
export const DENO_VARIABLES: readonly string[] = Object.freeze(Object.keys(denoSchema.shape));

/**
 * Reads the Deno entry's settings: port, host, model file and KV file. Empty values count as unset.
 *
 * @param env The environment (`Deno.env.toObject()`).
 * @returns The settings.
 * @throws {TypeError} `taugate: invalid PORT: ...`, naming the first bad variable.
 * @example
 * ```ts
 * import { denoConfigFromEnv } from "./config.ts";
 * denoConfigFromEnv({ PORT: "9000" }).port; // 9000
 * ```
 */
export function denoConfigFromEnv(env: Record<string, unknown>): DenoConfig {
  const c = settingsFromEnv(denoSchema, env);
  return { port: c.PORT, hostname: c.HOST, modelPath: c.TAUGATE_MODEL, kvPath: c.TAUGATE_KV_PATH };
}
