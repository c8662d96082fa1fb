/**
 * A dense layer with its activation: `y = act(x·W + b)`, W row-major `[in][out]`; forward and backward.
 *
 * @module
 */
import type { Activation } from "@taugate/model/types.ts";
import type { Rng } from "../util/rng.ts";
import { activate, activationBackward } from "./activation.ts";

/** A dense layer with its gradients. */
export class Dense {
  readonly inDim: number;
  readonly outDim: number;
  readonly act: Activation;
  W: Float32Array;
  b: Float32Array;
  gW: Float32Array;
  gb: Float32Array;

  /**
   * @param inDim Input width.
   * @param outDim Output width.
   * @param act Activation.
   * @param rng Initialisation stream (`null`: zeros).
   */
  constructor(inDim: number, outDim: number, act: Activation, rng: Rng | null) {
    this.inDim = inDim;
    this.outDim = outDim;
    this.act = act;
    this.W = new Float32Array(inDim * outDim);
    this.b = new Float32Array(outDim);
    this.gW = new Float32Array(inDim * outDim);
    this.gb = new Float32Array(outDim);
    if (rng) {
      // He for relu, Glorot for tanh and linear.
      const s = act === "relu" ? Math.sqrt(2 / inDim) : Math.sqrt(2 / (inDim + outDim));
      for (let i = 0; i < this.W.length; i++) this.W[i] = s * rng.gaussian();
    }
  }

  /**
   * Forward for a batch: `y[b] = act(x[b]·W + bias)`.
   *
   * @param x Input `[B][inDim]`.
   * @param B Batch size.
   * @param y Output `[B][outDim]`.
   */
  forward(x: Float32Array, B: number, y: Float32Array): void {
    const I = this.inDim, O = this.outDim, W = this.W;
    for (let bi = 0; bi < B; bi++) {
      const xo = bi * I, yo = bi * O;
      for (let o = 0; o < O; o++) y[yo + o] = this.b[o];
      for (let i = 0; i < I; i++) {
        const v = x[xo + i];
        if (v === 0) continue;
        const w = i * O;
        for (let o = 0; o < O; o++) y[yo + o] += v * W[w + o];
      }
    }
    activate(this.act, y, B * O);
  }

  /**
   * Backward for a batch. `dy` (∂L/∂y) is overwritten with ∂L/∂pre; gradients are accumulated.
   *
   * @param x The forward input.
   * @param y The forward output.
   * @param dy `[B][outDim]`, consumed.
   * @param B Batch size.
   * @param dx Receives ∂L/∂x `[B][inDim]` (overwritten), or `null` when not needed.
   */
  backward(
    x: Float32Array,
    y: Float32Array,
    dy: Float32Array,
    B: number,
    dx: Float32Array | null,
  ): void {
    const I = this.inDim, O = this.outDim, W = this.W, gW = this.gW;
    activationBackward(this.act, y, dy, B * O);
    for (let bi = 0; bi < B; bi++) {
      const xo = bi * I, yo = bi * O;
      for (let o = 0; o < O; o++) this.gb[o] += dy[yo + o];
      for (let i = 0; i < I; i++) {
        const v = x[xo + i], w = i * O;
        let s = 0;
        for (let o = 0; o < O; o++) {
          gW[w + o] += v * dy[yo + o];
          s += W[w + o] * dy[yo + o];
        }
        if (dx) dx[xo + i] = s;
      }
    }
  }

  /** Clears the gradients. */
  zeroGrad(): void {
    this.gW.fill(0);
    this.gb.fill(0);
  }
}
