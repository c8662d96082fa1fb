/**
 * Reading settings from environment variables (Deno's environment or a Worker's `env`) with a zod schema.
 *
 * @module
 */
import type { z } from "zod";
import { firstIssue } from "./zod.ts";

/**
 * The variables of `schema` (an object of strings in, typed settings out) read from `env`: empty values
 * count as unset, and an unset variable takes its value from `defaults` if it has one there.
 *
 * @param schema The settings' schema; its keys are the variables' names.
 * @param env Environment variables or a Worker's `env` (other bindings are ignored).
 * @param defaults Defaults that differ by runtime.
 * @returns The parsed settings.
 * @throws {TypeError} `taugate: invalid NAME: reason`, naming the first bad variable (never its value).
 * @example
 * ```ts
 * import { z } from "zod";
 * import { settingsFromEnv } from "./env.ts";
 * settingsFromEnv(z.object({ PORT: z.coerce.number().default(8000) }), { PORT: "" }); // { PORT: 8000 }
 * ```
 */
export function settingsFromEnv<S extends z.ZodObject>(
  schema: S,
  env: Record<string, unknown>,
  defaults: Record<string, string> = {},
): z.output<S> {
  const vars: Record<string, string> = {};
  for (const k of Object.keys(schema.shape)) {
    const given = env[k];
    const v = given === undefined || given === null || given === "" ? defaults[k] : given;
    if (v === undefined || v === "") continue;
    vars[k] = typeof v === "string" ? v : String(v);
  }
  const r = schema.safeParse(vars);
  if (!r.success) {
    const issue = firstIssue(r.error, "variable");
    throw new TypeError(`taugate: invalid ${issue.path}: ${issue.message}`);
  }
  return r.data;
}
