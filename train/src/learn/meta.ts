/**
 * Meta-training ("learning to learn"): episodes sample a tenant, K benign + K attack support requests, a
 * query set and, sometimes, unlabelled traffic of the tenant (a few attacks among it); the inner loop adapts
 * the head from the meta-learned init on the support embeddings exactly as the worker will (`headInputs`,
 * `fitHead`: with the site profile when configured); the outer loop updates the backbone, the head init and
 * the profile-deviation weights on the query loss.
 *
 * Methods: `anil` (backward through the inner steps), `anil-fo` (first-order shortcut), `proto` (prototype
 * head plus the init); `erm` trains the same backbone on pooled batches without episodes. K = 0 episodes
 * train the init as the global head, so it is good zero-shot.
 *
 * @module
 */
import { type AdaptConfig, fitHead, headInputs, protoHead } from "../../../src/heads/adapt.ts";
import { deviations, type ProfileConfig } from "../../../src/heads/profile.ts";
import { Adam, type ParamGroup } from "../nn/adam.ts";
import { Backbone, type BackboneShape } from "../nn/backbone.ts";
import type { FeatureSet } from "../nn/features.ts";
import { sigmoid, softplus } from "../nn/loss.ts";
import { Progress } from "../util/progress.ts";
import { Rng } from "../util/rng.ts";
import { fitHeadBackward, protoHeadBackward } from "./head_grad.ts";
import type { Task, TaskSet } from "./tasks.ts";

/** A training method. */
export type Method = "anil" | "anil-fo" | "proto" | "erm";

/** Settings of one training run. */
export interface TrainConfig {
  method: Method;
  /** H1 and the further layers (dim and denseDim come from the data). */
  hidden: number;
  layers: BackboneShape["layers"];
  /** Outer updates. */
  updates: number;
  /** Share of the updates, at the start, that are pooled (ERM) updates: pre-training before the episodes. */
  pretrainShare?: number;
  /** Episodes per update (`erm`: the rows of as many episodes form one batch). */
  metaBatch: number;
  /** K values episodes draw from, and their weights. */
  shots: number[];
  shotWeights: number[];
  /** Query requests per class per episode. */
  query: number;
  /** Unlabelled requests episodes draw (when the adaptation has a profile), their weights, and the largest attack share among them. */
  unlabeled: number[];
  unlabeledWeights: number[];
  contamination: number;
  lr: number;
  decay: number;
  /** ε of the outer losses' label smoothing (0: none). */
  labelSmoothing?: number;
  /** The inner loop; its profile's prior and a₀ are learned here. */
  adapt: AdaptConfig;
  seed: number;
}

/** What a run produces. */
export interface Trained {
  method: Method;
  backbone: Backbone;
  /** The head init (the global head). */
  head: { w: Float32Array; b: number };
  /** The adaptation config to ship (learned prototype scale, profile prior and a₀ filled in). */
  adapt: AdaptConfig;
  /** Rows pushed through the backbone's backward pass: the budget. */
  rows: number;
  /** Mean query loss over the last tenth of updates. */
  finalLoss: number;
  seconds: number;
}

/** Learning rate at update `u` of `n`: linear warm-up, then cosine decay to 5%. */
export function schedule(lr: number, u: number, n: number): number {
  const warm = Math.min(100, Math.floor(n / 10));
  if (u < warm) return lr * (u + 1) / warm;
  const p = (u - warm) / Math.max(1, n - warm);
  return lr * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * p)));
}

/** Running mean and variance of benign embeddings: the profile prior while training. */
class BenignStats {
  readonly mean: Float64Array;
  readonly var: Float64Array;
  private seen = 0;
  constructor(Z: number) {
    this.mean = new Float64Array(Z);
    this.var = new Float64Array(Z).fill(0.1);
  }
  add(z: Float32Array, at: number): void {
    const a = Math.max(0.002, 1 / ++this.seen);
    for (let j = 0; j < this.mean.length; j++) {
      const d = z[at + j] - this.mean[j];
      this.mean[j] += a * d;
      this.var[j] = (1 - a) * (this.var[j] + a * d * d);
    }
  }
}

/**
 * Trains a backbone, head init and (with a profile) deviation-weight init.
 *
 * @param data The tasks (training tenants).
 * @param cfg The run's settings.
 * @param quiet No progress lines.
 */
export function train(data: TaskSet, cfg: TrainConfig, quiet = false): Trained {
  const rng = new Rng(cfg.seed, `train-${cfg.method}`);
  const { set, tasks } = data;
  const backbone = new Backbone(
    {
      dim: set.dim,
      denseDim: set.denseDim,
      hidden: cfg.hidden,
      layers: cfg.layers,
    },
    rng.fork("init"),
  );
  const Z = backbone.embedDim;
  // θ₀ = [w₀ (Z); a₀ (Z); b₀]: episodes without a profile use w₀ and b₀ only.
  const theta0 = new Float32Array(2 * Z + 1),
    gTheta0 = new Float32Array(2 * Z + 1);
  const logScale = new Float32Array([0]), gLogScale = new Float32Array(1);
  const groups: ParamGroup[] = [...backbone.params(), {
    name: "head",
    p: theta0,
    g: gTheta0,
    decay: 0,
  }];
  if (cfg.method === "proto") {
    groups.push({ name: "protoScale", p: logScale, g: gLogScale, decay: 0 });
  }
  const opt = new Adam(groups, { lr: cfg.lr, decay: cfg.decay });
  const stats = new BenignStats(Z);
  const progress = new Progress(cfg.method, cfg.updates, quiet);
  const ep = new Episode(
    backbone,
    set,
    cfg,
    theta0,
    gTheta0,
    logScale,
    gLogScale,
    stats,
  );
  let rowsSeen = 0, recent = 0, recentN = 0;

  for (let u = 0; u < cfg.updates; u++) {
    backbone.zeroGrad();
    gTheta0.fill(0);
    gLogScale.fill(0);
    let loss = 0;
    if (cfg.method === "erm" || u < (cfg.pretrainShare ?? 0) * cfg.updates) {
      const r = ep.pooled(tasks, rng);
      loss = r.loss;
      rowsSeen += r.rows;
    } else {
      for (let e = 0; e < cfg.metaBatch; e++) {
        const r = ep.run(tasks[rng.int(tasks.length)], rng);
        loss += r.loss / cfg.metaBatch;
        rowsSeen += r.rows;
      }
    }
    opt.step(schedule(cfg.lr, u, cfg.updates));
    if (u >= cfg.updates * 0.9) recent += loss, recentN++;
    progress.tick(u + 1, { loss });
  }
  const adapt: AdaptConfig = { ...cfg.adapt };
  if (cfg.method === "proto") {
    adapt.method = "proto", adapt.protoScale = Math.exp(logScale[0]);
  }
  if (cfg.adapt.profile) {
    const prior = benignPrior(backbone, data);
    adapt.profile = {
      ...cfg.adapt.profile,
      priorMean: prior.mean,
      priorVar: prior.var,
      a0: cfg.method === "erm" ? new Array(Z).fill(0) : Array.from(theta0.subarray(Z, 2 * Z)),
    };
  }
  return {
    method: cfg.method,
    backbone,
    head: { w: theta0.slice(0, Z), b: theta0[2 * Z] },
    adapt,
    rows: rowsSeen,
    finalLoss: recentN > 0 ? recent / recentN : NaN,
    seconds: progress.seconds(),
  };
}

/** Mean and variance of z over the training tenants' benign requests (a sample): the shipped profile prior. */
export function benignPrior(
  backbone: Backbone,
  data: TaskSet,
  max = 20000,
): { mean: number[]; var: number[] } {
  const rows: number[] = [];
  for (const t of data.tasks) for (const r of t.benign) rows.push(r);
  const step = Math.max(1, Math.floor(rows.length / max));
  const pick = rows.filter((_, i) => i % step === 0);
  const Z = backbone.embedDim, z = backbone.embedAll(data.set, pick);
  const mean = new Array(Z).fill(0), v = new Array(Z).fill(0);
  for (let i = 0; i < pick.length; i++) {
    for (let j = 0; j < Z; j++) mean[j] += z[i * Z + j] / pick.length;
  }
  for (let i = 0; i < pick.length; i++) {
    for (let j = 0; j < Z; j++) {
      v[j] += (z[i * Z + j] - mean[j]) ** 2 / pick.length;
    }
  }
  return { mean, var: v };
}

/**
 * A smoothed target `y(1 − ε) + ε/2`: the outer losses never ask for certainty, so scores stay below 1 and a
 * threshold for a low false-positive rate stays representable.
 */
function smooth(y: number, eps = 0): number {
  return y * (1 - eps) + eps / 2;
}

/** Mean support rows per class of an episode (for the ERM batch that matches the episodes' budget). */
function expectedShots(cfg: TrainConfig): number {
  let s = 0, w = 0;
  cfg.shots.forEach((
    k,
    i,
  ) => (s += k * cfg.shotWeights[i], w += cfg.shotWeights[i]));
  return s / w;
}

/** One episode's forward and backward passes, with buffers reused across episodes. */
class Episode {
  private readonly Z: number;
  private dZ = new Float32Array(0);
  private ys = new Uint8Array(0);

  constructor(
    private backbone: Backbone,
    private set: FeatureSet,
    private cfg: TrainConfig,
    private theta0: Float32Array,
    private gTheta0: Float32Array,
    private logScale: Float32Array,
    private gLogScale: Float32Array,
    private stats: BenignStats,
  ) {
    this.Z = backbone.embedDim;
  }

  private ensure(rows: number): void {
    if (this.dZ.length < rows * 2 * this.Z) {
      this.dZ = new Float32Array(rows * 2 * this.Z);
    }
    if (this.ys.length < rows) this.ys = new Uint8Array(rows);
  }

  /** ERM: a pooled batch of as many rows as one update's episodes, half benign, half attack, global head. */
  pooled(tasks: Task[], rng: Rng): { loss: number; rows: number } {
    const { cfg, Z, theta0, gTheta0 } = this;
    const per = Math.round(cfg.metaBatch * (cfg.query + expectedShots(cfg)));
    const rows: number[] = [];
    for (let i = 0; i < per; i++) {
      const t = tasks[rng.int(tasks.length)];
      rows.push(
        t.benign[rng.int(t.benign.length)],
        t.attack[rng.int(t.attack.length)],
      );
    }
    this.ensure(rows.length);
    const z = this.backbone.forward(this.set, rows);
    const B = rows.length;
    let loss = 0;
    for (let i = 0; i < B; i++) {
      let s = theta0[2 * Z];
      for (let j = 0; j < Z; j++) s += theta0[j] * z[i * Z + j];
      const y = this.set.label[rows[i]];
      const ys = smooth(y, cfg.labelSmoothing);
      loss += softplus(s) - ys * s;
      const r = (sigmoid(s) - ys) / B;
      for (let j = 0; j < Z; j++) {
        gTheta0[j] += r * z[i * Z + j];
        this.dZ[i * Z + j] = r * theta0[j];
      }
      gTheta0[2 * Z] += r;
    }
    this.backbone.backward(this.set, rows, this.dZ);
    return { loss: loss / B, rows: B };
  }

  /** One episode on task `t`; gradients are accumulated, scaled for a meta-batch. */
  run(t: Task, rng: Rng): { loss: number; rows: number } {
    const { cfg, Z } = this;
    const Q = cfg.query;
    const K = Math.min(
      rng.weighted(cfg.shots, cfg.shotWeights),
      t.benign.length - Q,
      t.attack.length - Q,
    );
    const profileCfg = cfg.adapt.profile;
    const U0 = profileCfg ? rng.weighted(cfg.unlabeled, cfg.unlabeledWeights) : 0;
    const nUA = Math.floor(U0 * rng.next() * cfg.contamination);
    const U = Math.min(U0, t.benign.length - K - Q);
    const bi = rng.sampleIndices(t.benign.length, K + Q + Math.max(0, U - nUA));
    const ai = rng.sampleIndices(t.attack.length, K + Q + nUA);
    const rows: number[] = [];
    const nS = 2 * K, nQ = 2 * Q;
    this.ensure(nS + nQ + U);
    const ys = this.ys;
    for (let i = 0; i < K + Q; i++) {
      ys[rows.length] = 0;
      rows.push(t.benign[bi[i]]);
      ys[rows.length] = 1;
      rows.push(t.attack[ai[i]]);
    }
    for (let i = K + Q; i < bi.length; i++) rows.push(t.benign[bi[i]]);
    for (let i = K + Q; i < ai.length; i++) rows.push(t.attack[ai[i]]);
    const nU = rows.length - nS - nQ;
    const z = this.backbone.forward(this.set, rows);
    for (let i = 0; i < nS + nQ; i++) if (ys[i] === 0) this.stats.add(z, i * Z);

    // The inner loop: head inputs (with the profile when there is one), then the fit.
    const prof: ProfileConfig | undefined = profileCfg && (K > 0 || nU > 0)
      ? {
        ...profileCfg,
        priorMean: Array.from(this.stats.mean),
        priorVar: Array.from(this.stats.var),
        a0: Array.from(this.theta0.subarray(Z, 2 * Z)),
      }
      : undefined;
    const dqS = new Float32Array(nS * Z);
    const inp = headInputs(
      z.subarray(0, nS * Z),
      ys,
      nS,
      Z,
      z.subarray((nS + nQ) * Z, (nS + nQ + nU) * Z),
      nU,
      prof,
      dqS,
    );
    const F = inp.F, profile = inp.profile;
    const th0 = new Float64Array(F + 1);
    for (let j = 0; j < Z; j++) th0[j] = this.theta0[j];
    if (profile) {
      for (let j = 0; j < Z; j++) {
        th0[Z + j] = this.theta0[Z + j];
      }
    }
    th0[F] = this.theta0[2 * Z];
    const th = new Float64Array(F + 1);
    const tape = Array.from(
      { length: cfg.adapt.steps + 1 },
      () => new Float64Array(F + 1),
    );
    const scale = Math.exp(this.logScale[0]);
    if (cfg.method === "proto") protoHead(th0, inp.X, ys, nS, F, scale, th);
    else fitHead(th0, inp.X, ys, nS, F, cfg.adapt, th, tape);

    // Query loss (class-balanced) at the adapted head; gradients at θ and at the query inputs.
    const Xq = new Float32Array(nQ * F), dqQ = new Float32Array(nQ * Z);
    for (let i = 0; i < nQ; i++) {
      Xq.set(z.subarray((nS + i) * Z, (nS + i + 1) * Z), i * F);
      if (profile) {
        deviations(
          profile,
          z,
          (nS + i) * Z,
          Z,
          false,
          profileCfg!.minVar,
          Xq,
          i * F + Z,
          dqQ,
          i * Z,
        );
      }
    }
    const thBar = new Float64Array(F + 1), XqBar = new Float32Array(nQ * F);
    const wq = 1 / (nQ * cfg.metaBatch);
    let loss = 0;
    for (let i = 0; i < nQ; i++) {
      let s = th[F];
      for (let j = 0; j < F; j++) s += th[j] * Xq[i * F + j];
      const y = ys[nS + i];
      const yt = smooth(y, cfg.labelSmoothing);
      loss += (softplus(s) - yt * s) / nQ;
      const r = wq * (sigmoid(s) - yt);
      for (let j = 0; j < F; j++) {
        thBar[j] += r * Xq[i * F + j];
        XqBar[i * F + j] = r * th[j];
      }
      thBar[F] += r;
    }

    // Backward through the inner loop to θ₀ and the support inputs, then from inputs to embeddings.
    const th0Bar = new Float64Array(F + 1), XsBar = new Float32Array(nS * F);
    if (cfg.method === "proto") {
      this.gLogScale[0] += scale *
        protoHeadBackward(thBar, inp.X, ys, nS, F, scale, th0Bar, XsBar);
    } else {
      fitHeadBackward(
        thBar,
        tape,
        inp.X,
        ys,
        nS,
        F,
        cfg.adapt,
        cfg.method === "anil-fo",
        th0Bar,
        XsBar,
      );
    }
    for (let j = 0; j < Z; j++) this.gTheta0[j] += th0Bar[j];
    if (profile) {
      for (let j = 0; j < Z; j++) this.gTheta0[Z + j] += th0Bar[Z + j];
    }
    this.gTheta0[2 * Z] += th0Bar[F];
    const dZ = this.dZ;
    const toZ = (
      Xbar: Float32Array,
      i: number,
      dq: Float32Array,
      row: number,
    ) => {
      for (let j = 0; j < Z; j++) {
        dZ[row * Z + j] = Xbar[i * F + j] +
          (profile ? Xbar[i * F + Z + j] * dq[i * Z + j] : 0);
      }
    };
    for (let i = 0; i < nS; i++) toZ(XsBar, i, dqS, i);
    for (let i = 0; i < nQ; i++) toZ(XqBar, i, dqQ, nS + i);
    this.backbone.backward(this.set, rows.slice(0, nS + nQ), dZ);
    return { loss, rows: nS + nQ };
  }
}
