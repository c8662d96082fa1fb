/**
 * The backbone: features → z. A sparse first layer with relu, then dense layers, the last one's output is
 * the embedding z. Forward and backward over a batch of feature rows; the weights convert to and from the
 * model contract's `BackboneWeights`.
 *
 * @module
 */
import type { Activation, BackboneWeights } from "@taugate/model/types.ts";
import type { Rng } from "../util/rng.ts";
import type { ParamGroup } from "./adam.ts";
import { activate, activationBackward } from "./activation.ts";
import { Dense } from "./dense.ts";
import type { FeatureSet } from "./features.ts";
import { SparseLinear } from "./sparse_linear.ts";

/** The backbone's shape. */
export interface BackboneShape {
  dim: number;
  denseDim: number;
  /** H1. */
  hidden: number;
  /** The further layers; the last one's width is Z. */
  layers: { out: number; act: Activation }[];
}

/** The backbone with its activations cache for one batch. */
export class Backbone {
  readonly shape: BackboneShape;
  readonly first: SparseLinear;
  readonly layers: Dense[];
  /** Outputs of the first layer and of each further layer for the last batch. */
  private outs: Float32Array[] = [];
  private grads: Float32Array[] = [];
  private capacity = 0;

  /**
   * @param shape Dimensions.
   * @param rng Initialisation stream (`null`: zeros, to load weights into).
   */
  constructor(shape: BackboneShape, rng: Rng | null) {
    this.shape = shape;
    this.first = new SparseLinear(shape.dim, shape.denseDim, shape.hidden, rng);
    let inDim = shape.hidden;
    this.layers = shape.layers.map((l) => {
      const d = new Dense(inDim, l.out, l.act, rng);
      inDim = l.out;
      return d;
    });
  }

  /** Z, the embedding's width. */
  get embedDim(): number {
    return this.layers.length > 0 ? this.layers[this.layers.length - 1].outDim : this.shape.hidden;
  }

  private ensure(B: number): void {
    if (B <= this.capacity) return;
    this.capacity = Math.max(B, this.capacity * 2, 64);
    const widths = [this.shape.hidden, ...this.layers.map((l) => l.outDim)];
    this.outs = widths.map((w) => new Float32Array(this.capacity * w));
    this.grads = widths.map((w) => new Float32Array(this.capacity * w));
  }

  /**
   * Forward for a batch; the result (`[B][Z]`) is a view of an internal buffer, valid until the next call.
   *
   * @param set The feature rows.
   * @param rows The batch's row numbers.
   */
  forward(set: FeatureSet, rows: ArrayLike<number>): Float32Array {
    const B = rows.length;
    this.ensure(B);
    this.first.forward(set, rows, this.outs[0]);
    activate("relu", this.outs[0], B * this.shape.hidden);
    for (let l = 0; l < this.layers.length; l++) {
      this.layers[l].forward(this.outs[l], B, this.outs[l + 1]);
    }
    return this.outs[this.layers.length].subarray(0, B * this.embedDim);
  }

  /**
   * Backward for the batch of the last `forward`, from `dz = ∂L/∂z` (`[B][Z]`); accumulates gradients.
   *
   * @param set The feature rows.
   * @param rows The batch's row numbers (as in `forward`).
   * @param dz The gradient at z (not modified).
   */
  backward(
    set: FeatureSet,
    rows: ArrayLike<number>,
    dz: ArrayLike<number>,
  ): void {
    const B = rows.length, L = this.layers.length;
    const top = this.grads[L];
    for (let i = 0; i < B * this.embedDim; i++) top[i] = dz[i];
    for (let l = L - 1; l >= 0; l--) {
      this.layers[l].backward(
        this.outs[l],
        this.outs[l + 1],
        this.grads[l + 1],
        B,
        this.grads[l],
      );
    }
    activationBackward(
      "relu",
      this.outs[0],
      this.grads[0],
      B * this.shape.hidden,
    );
    this.first.backward(set, rows, this.grads[0]);
  }

  /** Clears every gradient. */
  zeroGrad(): void {
    this.first.zeroGrad();
    for (const l of this.layers) l.zeroGrad();
  }

  /** The parameter groups for the optimiser (the first layer's `W` is sparse). */
  params(): ParamGroup[] {
    const f = this.first;
    const groups: ParamGroup[] = [
      {
        name: "W1",
        p: f.W,
        g: f.gW,
        rows: { len: f.out, list: f.touchedList, count: () => f.nTouched },
      },
      { name: "Wd", p: f.Wd, g: f.gWd },
      { name: "b1", p: f.b, g: f.gb, decay: 0 },
    ];
    this.layers.forEach((l, i) => {
      groups.push({ name: `W${i + 2}`, p: l.W, g: l.gW }, {
        name: `b${i + 2}`,
        p: l.b,
        g: l.gb,
        decay: 0,
      });
    });
    return groups;
  }

  /** The weights in the model contract's form (copies). */
  toWeights(): BackboneWeights {
    return {
      dim: this.shape.dim,
      denseDim: this.shape.denseDim,
      hidden: this.shape.hidden,
      W1: this.first.W.slice(),
      Wd: this.first.Wd.slice(),
      b1: this.first.b.slice(),
      layers: this.layers.map((l) => ({
        inDim: l.inDim,
        outDim: l.outDim,
        W: l.W.slice(),
        b: l.b.slice(),
        activation: l.act,
      })),
    };
  }

  /** A backbone holding copies of the given weights. */
  static fromWeights(w: BackboneWeights): Backbone {
    const bb = new Backbone({
      dim: w.dim,
      denseDim: w.denseDim,
      hidden: w.hidden,
      layers: w.layers.map((l) => ({ out: l.outDim, act: l.activation })),
    }, null);
    bb.first.W.set(w.W1);
    bb.first.Wd.set(w.Wd);
    bb.first.b.set(w.b1);
    w.layers.forEach((l, i) => {
      bb.layers[i].W.set(l.W);
      bb.layers[i].b.set(l.b);
    });
    return bb;
  }

  /**
   * Embeddings of many rows, batched; returns `[rows.length][Z]` (a new array).
   *
   * @param set The feature rows.
   * @param rows Which rows (default: all).
   */
  embedAll(set: FeatureSet, rows?: ArrayLike<number>): Float32Array {
    const all = rows ?? Int32Array.from({ length: set.n }, (_, i) => i);
    const Z = this.embedDim, out = new Float32Array(all.length * Z);
    const batch = 256;
    for (let a = 0; a < all.length; a += batch) {
      const part = Array.prototype.slice.call(
        all,
        a,
        Math.min(all.length, a + batch),
      ) as number[];
      out.set(this.forward(set, part), a * Z);
    }
    return out;
  }
}
