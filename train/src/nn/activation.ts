/**
 * Activations, forward and backward side by side. The backward pass uses the forward *output* (relu: out > 0;
 * tanh: 1 − out²), so no pre-activation needs to be kept.
 *
 * @module
 */
import type { Activation } from "@taugate/model/types.ts";

/** Applies the activation to `x[0..n)` in place. */
export function activate(kind: Activation, x: Float32Array, n: number): void {
  if (kind === "relu") {
    for (let i = 0; i < n; i++) {
      x[i] = x[i] > 0 ? x[i] : 0;
    }
  } else if (kind === "tanh") {
    for (let i = 0; i < n; i++) x[i] = Math.tanh(x[i]);
  }
}

/** Turns `d[0..n)` from ∂L/∂out into ∂L/∂pre in place, given the forward output `out`. */
export function activationBackward(
  kind: Activation,
  out: Float32Array,
  d: Float32Array,
  n: number,
): void {
  if (kind === "relu") {
    for (let i = 0; i < n; i++) {
      d[i] = out[i] > 0 ? d[i] : 0;
    }
  } else if (kind === "tanh") {
    for (let i = 0; i < n; i++) d[i] *= 1 - out[i] * out[i];
  }
}
