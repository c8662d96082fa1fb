// Finite-difference gradient checking for the numeric core's tests.
import assert from "node:assert/strict";

/**
 * Checks `analytic[i] ≈ (L(p[i]+h) − L(p[i]−h)) / 2h` for some coordinates `i` of a parameter.
 *
 * @param name For messages.
 * @param p The parameter (perturbed in place, restored).
 * @param analytic The analytic gradient.
 * @param loss The loss as a function of the current parameters.
 * @param coords Which coordinates to check.
 * @param h Step.
 * @param tol Tolerance on |a − n| / max(1e-3, |a| + |n|).
 */
export function checkGrad(
  name: string,
  p: Float32Array | Float64Array,
  analytic: ArrayLike<number>,
  loss: () => number,
  coords: number[],
  h = 1e-3,
  tol = 2e-2,
): void {
  let checked = 0;
  for (const i of coords) {
    const old = p[i];
    p[i] = old + h;
    const lp = loss();
    p[i] = old - h;
    const lm = loss();
    p[i] = old;
    const num = (lp - lm) / (2 * h);
    const a = analytic[i];
    const rel = Math.abs(a - num) / Math.max(1e-3, Math.abs(a) + Math.abs(num));
    assert.ok(
      rel < tol,
      `${name}[${i}]: analytic ${a} vs numeric ${num} (rel ${rel.toExponential(2)})`,
    );
    checked++;
  }
  assert.ok(checked > 0, `${name}: nothing checked`);
}

/** `k` coordinates spread over `[0, n)`. */
export function spread(n: number, k: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < k && i < n; i++) {
    out.push(Math.floor((i * n) / Math.min(k, n)));
  }
  return out;
}
