/**
 * A promise with a time limit: the one timer of a bounded wait (an engine call, a store call), set and
 * cleared around that wait.
 *
 * @module
 */

/**
 * `p`, or a rejection with `onTimeout()` after `ms` milliseconds, whichever comes first. The timer is cleared
 * as soon as `p` settles; `p` itself is not cancelled (a late answer is dropped).
 *
 * @param p The promise to wait for.
 * @param ms The limit in milliseconds.
 * @param onTimeout Makes the error the wait fails with when the limit passes.
 * @example
 * ```ts
 * import { withTimeout } from "./timeout.ts";
 * await withTimeout(Promise.resolve(1), 100, () => new Error("too slow")); // 1
 * ```
 */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    p.then((v) => {
      clearTimeout(timer);
      resolve(v);
    }, (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
