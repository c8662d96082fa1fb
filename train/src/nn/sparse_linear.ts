/**
 * The first layer: a linear map of the hashed sparse features plus the dense block,
 * `out = Σ_k values[k]·W[indices[k], :] + dense·Wd + b`. Its backward pass touches only the rows of `W`
 * that the batch used, and records which, so the optimiser updates those rows alone.
 *
 * @module
 */
import type { Rng } from "../util/rng.ts";
import type { FeatureSet } from "./features.ts";

/** The sparse-input linear layer with its gradients. */
export class SparseLinear {
  readonly dim: number;
  readonly denseDim: number;
  readonly out: number;
  /** `[dim][out]`. */
  W: Float32Array;
  /** `[denseDim][out]`. */
  Wd: Float32Array;
  b: Float32Array;
  gW: Float32Array;
  gWd: Float32Array;
  gb: Float32Array;
  /** 1 for each row of `W` the current gradient touches; `touchedList[0..nTouched)` lists them. */
  touched: Uint8Array;
  touchedList: Int32Array;
  nTouched = 0;

  /**
   * @param dim D, the hashed dimension.
   * @param denseDim Dd, the dense block's dimension.
   * @param out H1, the layer's width.
   * @param rng Initialisation stream (`null`: zeros, for loading weights).
   */
  constructor(dim: number, denseDim: number, out: number, rng: Rng | null) {
    this.dim = dim;
    this.denseDim = denseDim;
    this.out = out;
    this.W = new Float32Array(dim * out);
    this.Wd = new Float32Array(denseDim * out);
    this.b = new Float32Array(out);
    this.gW = new Float32Array(dim * out);
    this.gWd = new Float32Array(denseDim * out);
    this.gb = new Float32Array(out);
    this.touched = new Uint8Array(dim);
    this.touchedList = new Int32Array(dim);
    if (rng) {
      // A request has a few groups of unit norm, so Σ v² is a few: std 0.4 keeps pre-activations near 1.
      for (let i = 0; i < this.W.length; i++) this.W[i] = 0.4 * rng.gaussian();
      const s = 1 / Math.sqrt(denseDim);
      for (let i = 0; i < this.Wd.length; i++) this.Wd[i] = s * rng.gaussian();
    }
  }

  /**
   * Forward: `y[b] = Σ_k val·W[idx] + dense[row]·Wd + bias` for each row of the batch.
   *
   * @param set The feature rows.
   * @param rows The batch's row numbers.
   * @param y Output `[rows.length][out]`.
   */
  forward(set: FeatureSet, rows: ArrayLike<number>, y: Float32Array): void {
    const H = this.out, Dd = this.denseDim, W = this.W, Wd = this.Wd;
    for (let bi = 0; bi < rows.length; bi++) {
      const r = rows[bi], o = bi * H;
      for (let h = 0; h < H; h++) y[o + h] = this.b[h];
      for (let k = set.rowPtr[r]; k < set.rowPtr[r + 1]; k++) {
        const v = set.val[k], w = set.idx[k] * H;
        for (let h = 0; h < H; h++) y[o + h] += v * W[w + h];
      }
      const d = r * Dd;
      for (let j = 0; j < Dd; j++) {
        const v = set.dense[d + j];
        if (v === 0) continue;
        const w = j * H;
        for (let h = 0; h < H; h++) y[o + h] += v * Wd[w + h];
      }
    }
  }

  /**
   * Backward: accumulates `∂L/∂W` (touched rows only), `∂L/∂Wd`, `∂L/∂b` from `dy = ∂L/∂y`.
   *
   * @param set The feature rows.
   * @param rows The batch's row numbers (as in `forward`).
   * @param dy `[rows.length][out]`.
   */
  backward(set: FeatureSet, rows: ArrayLike<number>, dy: Float32Array): void {
    const H = this.out, Dd = this.denseDim, gW = this.gW, gWd = this.gWd;
    for (let bi = 0; bi < rows.length; bi++) {
      const r = rows[bi], o = bi * H;
      for (let h = 0; h < H; h++) this.gb[h] += dy[o + h];
      for (let k = set.rowPtr[r]; k < set.rowPtr[r + 1]; k++) {
        const i = set.idx[k], v = set.val[k], w = i * H;
        if (this.touched[i] === 0) {
          this.touched[i] = 1;
          this.touchedList[this.nTouched++] = i;
        }
        for (let h = 0; h < H; h++) gW[w + h] += v * dy[o + h];
      }
      const d = r * Dd;
      for (let j = 0; j < Dd; j++) {
        const v = set.dense[d + j];
        if (v === 0) continue;
        const w = j * H;
        for (let h = 0; h < H; h++) gWd[w + h] += v * dy[o + h];
      }
    }
  }

  /** Clears the gradients (only the touched rows of `gW`). */
  zeroGrad(): void {
    const H = this.out;
    for (let t = 0; t < this.nTouched; t++) {
      const i = this.touchedList[t];
      this.gW.fill(0, i * H, (i + 1) * H);
      this.touched[i] = 0;
    }
    this.nTouched = 0;
    this.gWd.fill(0);
    this.gb.fill(0);
  }
}
