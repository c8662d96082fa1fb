/**
 * One reading of a zod failure for every place that turns one into a message: options, environment
 * variables, query parameters, request bodies and model cards all name the first problem the same way.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { firstIssue, optionsError } from "./zod.ts";
 * const r = z.strictObject({ mode: z.enum(["block", "log"]) }).safeParse({ mode: "deny", extra: 1 });
 * if (!r.success) firstIssue(r.error, "option"); // { path: "mode", message: "Invalid option: ..." }
 * optionsError("taugate", z.strictObject({}).safeParse({ x: 1 }).error!).message;
 * // 'taugate: invalid option "(options)": unknown option(s) x'
 * ```
 * @module
 */
import type { z } from "zod";

/** The first problem of a failed parse: where (dotted path, `""` at the top) and what. */
export interface Issue {
  path: string;
  message: string;
}

/**
 * The first issue of a zod error; unknown keys are named (`unknown <noun>(s) a, b`).
 *
 * @param error The error.
 * @param noun What a key is called where the text will be read (`option`, `query parameter`, `field`).
 */
export function firstIssue(error: z.ZodError, noun = "field"): Issue {
  const issue = error.issues[0];
  const path = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    return { path, message: `unknown ${noun}(s) ${issue.keys.join(", ")}` };
  }
  return { path, message: issue.message };
}

/**
 * The `TypeError` an options object's constructor throws: `<who>: invalid option "<path>": <message>`.
 *
 * @param who The function or class (`taugate`, `tenantApi`, `Learner`).
 * @param error The parse error.
 */
export function optionsError(who: string, error: z.ZodError): TypeError {
  const { path, message } = firstIssue(error, "option");
  return new TypeError(`${who}: invalid option "${path || "(options)"}": ${message}`);
}

/**
 * A predicate from a parser that throws: whether `parse` accepts the value (for zod `refine`).
 *
 * @param parse A function that throws on a bad value.
 */
export function parses<T>(parse: (value: T) => unknown): (value: T) => boolean {
  return (value) => {
    try {
      parse(value);
      return true;
    } catch {
      return false;
    }
  };
}
