/** Type-level helpers. */

/**
 * `true` when `A` and `B` are the same type (mutually assignable in every position), else `false`: a
 * compile-time check that a documented interface and a schema's type cannot drift apart.
 *
 * @example
 * ```ts
 * import type { Same } from "./types.ts";
 * const ok: Same<{ a: number }, { a: number }> = true;
 * ```
 */
export type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
