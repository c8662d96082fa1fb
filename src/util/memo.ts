/**
 * A function's result, computed once and shared; a failure is not kept, so the next call tries again (the
 * engine's load, the model's bytes, the backbone's weights).
 *
 * @example
 * ```ts
 * import { retryingOnce } from "./memo.ts";
 * let calls = 0;
 * const get = retryingOnce(() => Promise.resolve(++calls));
 * await get(); await get(); // calls === 1
 * ```
 * @module
 */

/**
 * Wraps `f` so that concurrent and later calls share one pending or settled result, except a rejection:
 * that is passed to the callers waiting for it and then forgotten.
 *
 * @param f The work (called lazily, at the first call).
 * @returns The shared getter.
 */
export function retryingOnce<T>(f: () => T | Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    pending ??= Promise.resolve().then(f).catch((err) => {
      pending = undefined;
      throw err;
    });
}
