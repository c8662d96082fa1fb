/** Object helpers. */

/**
 * A copy of `o` without its `undefined` fields (so that spreading it over defaults keeps the defaults).
 *
 * @param o The object.
 * @example
 * ```ts
 * import { stripUndefined } from "./object.ts";
 * stripUndefined({ a: 1, b: undefined }); // { a: 1 }
 * ```
 */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
