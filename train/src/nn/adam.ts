/**
 * Adam, with lazy updates for sparse parameters: a matrix whose gradient touched only some rows (the first
 * layer over hashed features) has only those rows' moments and weights updated, as in LazyAdam.
 *
 * @module
 */

/** A parameter, its gradient, and, for a sparse one, the rows the gradient touched. */
export interface ParamGroup {
  name: string;
  p: Float32Array;
  g: Float32Array;
  /** Row length and the touched rows `list[0..count())` of a sparse parameter. */
  rows?: { len: number; list: Int32Array; count: () => number };
  /** L2 weight decay for this group (default: the optimiser's). */
  decay?: number;
}

/** Adam's settings. */
export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** L2 penalty added to the gradient (`g + decay·p`). */
  decay: number;
}

/** The default settings. */
export const ADAM_DEFAULTS: AdamConfig = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  decay: 0,
};

/** Adam over a list of parameter groups. */
export class Adam {
  readonly groups: ParamGroup[];
  readonly config: AdamConfig;
  private m: Float32Array[];
  private v: Float32Array[];
  t = 0;

  constructor(groups: ParamGroup[], config: Partial<AdamConfig> = {}) {
    this.groups = groups;
    this.config = { ...ADAM_DEFAULTS, ...config };
    this.m = groups.map((g) => new Float32Array(g.p.length));
    this.v = groups.map((g) => new Float32Array(g.p.length));
  }

  /**
   * One update from the groups' current gradients.
   *
   * @param lr The step size of this update (default: the configured one; schedules pass theirs).
   */
  step(lr = this.config.lr): void {
    const { beta1, beta2, eps } = this.config;
    this.t++;
    const c1 = 1 - Math.pow(beta1, this.t), c2 = 1 - Math.pow(beta2, this.t);
    const a = lr * Math.sqrt(c2) / c1;
    for (let gi = 0; gi < this.groups.length; gi++) {
      const { p, g, rows } = this.groups[gi];
      const decay = this.groups[gi].decay ?? this.config.decay;
      const m = this.m[gi], v = this.v[gi];
      const b1 = 1 - beta1, b2 = 1 - beta2;
      if (rows) {
        const n = rows.count(), len = rows.len;
        for (let t = 0; t < n; t++) {
          const base = rows.list[t] * len;
          for (let i = base; i < base + len; i++) {
            const gr = g[i] + decay * p[i];
            m[i] = beta1 * m[i] + b1 * gr;
            v[i] = beta2 * v[i] + b2 * gr * gr;
            p[i] -= a * m[i] / (Math.sqrt(v[i]) + eps);
          }
        }
      } else {
        for (let i = 0; i < p.length; i++) {
          const gr = g[i] + decay * p[i];
          m[i] = beta1 * m[i] + b1 * gr;
          v[i] = beta2 * v[i] + b2 * gr * gr;
          p[i] -= a * m[i] / (Math.sqrt(v[i]) + eps);
        }
      }
    }
  }
}
