/**
 * The tenant API's settings, from environment variables (Deno) or wrangler `vars`/secrets (workerd).
 *
 * | variable | default | meaning |
 * | --- | --- | --- |
 * | `TAUGATE_ADMIN_TOKEN` | none: the API is off | the operator's token, at least 32 characters |
 * | `TAUGATE_GUARD_MARGIN` | `0.05` | largest fall of canary detection at τ an upload may cause |
 * | `TAUGATE_HEAD_VERSIONS` | `5` | versions of a tenant's head kept (the active one included) for rollback |
 *
 * @module
 */
import { z } from "zod";
import { settingsFromEnv } from "../util/env.ts";
import { TENANT_TOKEN_PREFIX } from "./tokens.ts";

/** The API's settings (`null` from `apiConfigFromEnv` when it is off). */
export interface ApiConfig {
  /** The operator's token (a secret: never log this object). */
  adminToken: string;
  /**
   * `TAUGATE_GUARD_MARGIN`: the largest fall of canary detection (and rise of benign requests flagged) an
   * upload may cause, absolute, in [0, 1] (default `DEFAULT_GUARD_MARGIN`, 0.05).
   */
  guardMargin: number;
  /** `TAUGATE_HEAD_VERSIONS`: versions of a tenant's head kept for rollback, the active one included. */
  keepVersions: number;
}

/** Shortest operator token accepted. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;
/** Default largest fall of canary detection. */
export const DEFAULT_GUARD_MARGIN = 0.05;
/** Default versions kept. */
export const DEFAULT_KEEP_VERSIONS = 5;

const num = z.string().trim().refine((s) => s !== "" && Number.isFinite(Number(s)), {
  message: "must be a number",
}).transform(Number);

const schema = z.object({
  TAUGATE_ADMIN_TOKEN: z.string().min(MIN_ADMIN_TOKEN_LENGTH, {
    message: `must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters (e.g. \`openssl rand -hex 32\`)`,
  }).max(512).refine((t) => /^[A-Za-z0-9._~+/=-]+$/.test(t), {
    message: "must be made of A-Z a-z 0-9 . _ ~ + / = - (a bearer token)",
  }).refine((t) => !t.startsWith(TENANT_TOKEN_PREFIX), {
    message: `must not start with ${TENANT_TOKEN_PREFIX} (the tenant tokens' prefix)`,
  }).optional(),
  TAUGATE_GUARD_MARGIN: num.pipe(z.number().min(0).max(1)).default(DEFAULT_GUARD_MARGIN),
  TAUGATE_HEAD_VERSIONS: num.pipe(z.number().int().min(1).max(50)).default(DEFAULT_KEEP_VERSIONS),
});

/** The names `apiConfigFromEnv` reads. */
export const API_CONFIG_VARIABLES: readonly string[] = Object.freeze(Object.keys(schema.shape));

/**
 * Reads the tenant API's settings. Empty values count as unset.
 *
 * @param env Environment variables or a Worker's `env`.
 * @returns The settings, or `null` when `TAUGATE_ADMIN_TOKEN` is unset (the API is off: its routes do not
 *   exist, and requests to them are ordinary traffic).
 * @throws {TypeError} `taugate: invalid TAUGATE_GUARD_MARGIN: ...`, naming the variable (never its value).
 * @example
 * ```ts
 * import { apiConfigFromEnv } from "./config.ts";
 * apiConfigFromEnv({}); // null
 * apiConfigFromEnv({ TAUGATE_ADMIN_TOKEN: "x".repeat(40) })?.guardMargin; // 0.05
 * ```
 */
export function apiConfigFromEnv(env: Record<string, unknown>): ApiConfig | null {
  const c = settingsFromEnv(schema, env);
  if (c.TAUGATE_ADMIN_TOKEN === undefined) return null;
  return {
    adminToken: c.TAUGATE_ADMIN_TOKEN,
    guardMargin: c.TAUGATE_GUARD_MARGIN,
    keepVersions: c.TAUGATE_HEAD_VERSIONS,
  };
}
