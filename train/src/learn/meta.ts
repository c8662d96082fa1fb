/**
 * Meta-training ("learning to learn"): episodes sample a tenant, K benign + K attack support requests, a
 * query set and, often, unlabelled traffic of the tenant (a few attacks among it); the inner loop adapts the
 * head from the meta-learned init exactly as the worker will (`fitHead` on `[z; n]`, `n` the novelty
 * features against the site profile of the support's benign requests and the unlabelled traffic, benign
 * examples leave-one-out); the outer loop updates the backbone and the head init `[w₀; a₀; b₀]` on the query
 * loss.
 *
 * Methods: `anil` (backward through the inner steps), `anil-fo` (first-order shortcut), `proto` (prototype
 * head plus the init); `erm` trains the same backbone and head on pooled batches without episodes, each row
 * scored against a profile of its tenant's benign traffic of a random size (so `a₀` is learned too). K = 0
 * episodes train the init as the global head, so it is good zero-shot (and, with unlabelled traffic, `a₀`
 * with it).
 *
 * @module
 */
import { type AdaptConfig, fitHead, type NonNegative, protoHead } from "@taugate/heads/adapt.ts";
import { minCountFor, NOVELTY_DIM, profileWeight } from "@taugate/heads/site_profile.ts";
import { Adam, type ParamGroup } from "../nn/adam.ts";
import { Backbone, type BackboneShape } from "../nn/backbone.ts";
import type { FeatureSet } from "../nn/features.ts";
import { sigmoid, softplus } from "../nn/loss.ts";
import { Progress } from "../util/progress.ts";
import { Rng } from "../util/rng.ts";
import { fitHeadBackward, protoHeadBackward } from "./head_grad.ts";
import { TokenIndex } from "./novelty.ts";
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
  /**
   * Unlabelled requests episodes draw (when the adaptation has a site profile), their weights, and the largest
   * attack share among them; pooled (ERM) rows draw their tenant's profile size from the same list.
   */
  unlabeled: number[];
  unlabeledWeights: number[];
  contamination: number;
  lr: number;
  decay: number;
  /** ε of the outer losses' label smoothing (0: none). */
  labelSmoothing?: number;
  /**
   * Hard benign rows weigh more in the outer losses: a benign row scored p counts `1 + weight · p^power` times
   * (the weight held fixed in the gradient), so the benign tail that decides τ is pushed down (absent: 1).
   */
  hardBenign?: { weight: number; power: number };
  /** The inner loop; its profile's `a₀` is learned here. */
  adapt: AdaptConfig;
  seed: number;
}

/** What a run produces. */
export interface Trained {
  method: Method;
  backbone: Backbone;
  /** The head init (the global head). */
  head: { w: Float32Array; b: number };
  /** The adaptation config to ship (learned prototype scale and `a₀` filled in). */
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

const G = NOVELTY_DIM;

/**
 * Trains a backbone and head init (with a site profile: `[w₀; a₀; b₀]`).
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
  // θ₀ = [w₀ (Z); a₀ (G); b₀]: without a profile, a₀ stays unused.
  const theta0 = new Float32Array(Z + G + 1), gTheta0 = new Float32Array(Z + G + 1);
  if (cfg.adapt.profile) {
    for (let k = 0; k < G; k++) theta0[Z + k] = Math.max(0, cfg.adapt.profile.a0[k] ?? 0);
  }
  const logScale = new Float32Array([0]), gLogScale = new Float32Array(1);
  const groups: ParamGroup[] = [...backbone.params(), { name: "head", p: theta0, g: gTheta0, decay: 0 }];
  if (cfg.method === "proto") {
    groups.push({ name: "protoScale", p: logScale, g: gLogScale, decay: 0 });
  }
  const opt = new Adam(groups, { lr: cfg.lr, decay: cfg.decay });
  const progress = new Progress(cfg.method, cfg.updates, quiet);
  const index = cfg.adapt.profile ? new TokenIndex(set) : null;
  const pooledNovelty = index ? new PooledNovelty(index, tasks, cfg, rng.fork("pooled-profiles")) : null;
  const ep = new Episode(backbone, set, cfg, theta0, gTheta0, logScale, gLogScale, index, pooledNovelty);
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
    // Novelty may only raise a score: a₀ stays non-negative, as the fitted a does.
    for (let k = 0; k < G; k++) if (theta0[Z + k] < 0) theta0[Z + k] = 0;
    if (u >= cfg.updates * 0.9) recent += loss, recentN++;
    progress.tick(u + 1, { loss });
  }
  const adapt: AdaptConfig = { ...cfg.adapt };
  if (cfg.method === "proto") {
    adapt.method = "proto", adapt.protoScale = Math.exp(logScale[0]);
  }
  if (cfg.adapt.profile) {
    adapt.profile = { ...cfg.adapt.profile, a0: Array.from(theta0.subarray(Z, Z + G)) };
  }
  return {
    method: cfg.method,
    backbone,
    head: { w: theta0.slice(0, Z), b: theta0[Z + G] },
    adapt,
    rows: rowsSeen,
    finalLoss: recentN > 0 ? recent / recentN : NaN,
    seconds: progress.seconds(),
  };
}

/**
 * A smoothed target `y(1 − ε) + ε/2`: the outer losses never ask for certainty, so scores stay below 1 and a
 * threshold for a low false-positive rate stays representable.
 */
function smooth(y: number, eps = 0): number {
  return y * (1 - eps) + eps / 2;
}

/** How much a row of label `y` scored `s` counts in an outer loss (`hardBenign`; attacks always 1). */
export function rowWeight(y: number, s: number, hard: TrainConfig["hardBenign"]): number {
  if (!hard || hard.weight <= 0 || y !== 0) return 1;
  return 1 + hard.weight * Math.pow(sigmoid(s), hard.power);
}

/** Mean support rows per class of an episode (for the ERM batch that matches the episodes' budget). */
function expectedShots(cfg: TrainConfig): number {
  let s = 0, w = 0;
  cfg.shots.forEach((k, i) => (s += k * cfg.shotWeights[i], w += cfg.shotWeights[i]));
  return s / w;
}

/**
 * Novelty features of every training row against profiles of its tenant's benign traffic, one profile per
 * non-zero size of `cfg.unlabeled` (a random sample of that many benign rows; those rows leave-one-out), for
 * pooled (ERM) batches.
 */
class PooledNovelty {
  /** Per task, per size: `[rows of the task][G]`, rows in set order from the task's first row. */
  private readonly features: Float32Array[][];
  private readonly first: number[];
  private readonly sizes: number[];
  private readonly weights: number[];

  constructor(index: TokenIndex, tasks: Task[], cfg: TrainConfig, rng: Rng) {
    const p = cfg.adapt.profile!;
    this.sizes = cfg.unlabeled;
    this.weights = cfg.unlabeledWeights;
    this.first = tasks.map((t) => Math.min(t.benign[0], t.attack[0]));
    this.features = tasks.map((t, ti) => {
      const last = Math.max(t.benign[t.benign.length - 1], t.attack[t.attack.length - 1]);
      const n = last - this.first[ti] + 1;
      return this.sizes.map((size) => {
        const out = new Float32Array(n * G);
        const R = Math.min(size, t.benign.length - 1);
        if (R <= 0) return out;
        const pick = rng.sampleIndices(t.benign.length, R).map((i) => t.benign[i]);
        const inProfile = new Set(pick);
        index.count(pick, 0, R, 1);
        const minCount = minCountFor(p, R), weight = profileWeight(p, R);
        for (let r = this.first[ti]; r <= last; r++) {
          index.novelty(r, minCount, weight, inProfile.has(r), out, (r - this.first[ti]) * G);
        }
        index.count(pick, 0, R, -1);
        return out;
      });
    });
  }

  /** A profile size for one pooled row (0: none). */
  draw(rng: Rng): number {
    return rng.weighted(this.sizes.map((_, i) => i), this.weights);
  }

  /** Row r's features (task `ti`, size index `s`) into `out` at `at`. */
  get(ti: number, s: number, r: number, out: Float32Array, at: number): boolean {
    if (this.sizes[s] <= 0) return false;
    const f = this.features[ti][s], o = (r - this.first[ti]) * G;
    for (let k = 0; k < G; k++) out[at + k] = f[o + k];
    return true;
  }
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
    private index: TokenIndex | null,
    private pooledNovelty: PooledNovelty | null,
  ) {
    this.Z = backbone.embedDim;
  }

  private ensure(rows: number): void {
    if (this.dZ.length < rows * this.Z) this.dZ = new Float32Array(rows * this.Z);
    if (this.ys.length < rows) this.ys = new Uint8Array(rows);
  }

  /**
   * ERM: a pooled batch of as many rows as one update's episodes, half benign, half attack, scored by the
   * global head plus, for rows drawn with a profile, the novelty term.
   */
  pooled(tasks: Task[], rng: Rng): { loss: number; rows: number } {
    const { cfg, Z, theta0, gTheta0 } = this;
    const per = Math.round(cfg.metaBatch * (cfg.query + expectedShots(cfg)));
    const rows: number[] = [], owner: number[] = [];
    for (let i = 0; i < per; i++) {
      const ti = rng.int(tasks.length), t = tasks[ti];
      rows.push(t.benign[rng.int(t.benign.length)], t.attack[rng.int(t.attack.length)]);
      owner.push(ti, ti);
    }
    this.ensure(rows.length);
    const z = this.backbone.forward(this.set, rows);
    const B = rows.length, n = new Float32Array(G);
    let loss = 0;
    for (let i = 0; i < B; i++) {
      let s = theta0[Z + G];
      for (let j = 0; j < Z; j++) s += theta0[j] * z[i * Z + j];
      const pn = this.pooledNovelty;
      const has = pn !== null && pn.get(owner[i], pn.draw(rng), rows[i], n, 0);
      if (has) { for (let k = 0; k < G; k++) s += theta0[Z + k] * n[k]; }
      const y = this.set.target ? this.set.target[rows[i]] : this.set.label[rows[i]];
      const ys = smooth(y, cfg.labelSmoothing);
      const h = rowWeight(this.set.label[rows[i]], s, cfg.hardBenign);
      loss += h * (softplus(s) - ys * s);
      const r = h * (sigmoid(s) - ys) / B;
      for (let j = 0; j < Z; j++) {
        gTheta0[j] += r * z[i * Z + j];
        this.dZ[i * Z + j] = r * theta0[j];
      }
      if (has) { for (let k = 0; k < G; k++) gTheta0[Z + k] += r * n[k]; }
      gTheta0[Z + G] += r;
    }
    this.backbone.backward(this.set, rows, this.dZ);
    return { loss: loss / B, rows: B };
  }

  /** One episode on task `t`; gradients are accumulated, scaled for a meta-batch. */
  run(t: Task, rng: Rng): { loss: number; rows: number } {
    const { cfg, Z } = this;
    const Q = cfg.query;
    const K = Math.min(rng.weighted(cfg.shots, cfg.shotWeights), t.benign.length - Q, t.attack.length - Q);
    const profileCfg = this.index ? cfg.adapt.profile : undefined;
    const U0 = profileCfg ? rng.weighted(cfg.unlabeled, cfg.unlabeledWeights) : 0;
    const nUA = Math.floor(U0 * rng.next() * cfg.contamination);
    const U = Math.max(0, Math.min(U0 - nUA, t.benign.length - K - Q));
    const bi = rng.sampleIndices(t.benign.length, K + Q + U);
    const ai = rng.sampleIndices(t.attack.length, K + Q + nUA);
    const rows: number[] = [];
    const nS = 2 * K, nQ = 2 * Q;
    this.ensure(nS + nQ);
    const ys = this.ys;
    for (let i = 0; i < K + Q; i++) {
      ys[rows.length] = 0;
      rows.push(t.benign[bi[i]]);
      ys[rows.length] = 1;
      rows.push(t.attack[ai[i]]);
    }
    const z = this.backbone.forward(this.set, rows);

    // The site profile: the support's benign requests and the unlabelled traffic (structure tokens only).
    const profileRows: number[] = [];
    for (let i = 0; i < nS; i += 2) profileRows.push(rows[i]);
    for (let i = K + Q; i < bi.length; i++) profileRows.push(t.benign[bi[i]]);
    for (let i = K + Q; i < ai.length; i++) profileRows.push(t.attack[ai[i]]);
    const R = profileRows.length;
    const withProfile = profileCfg !== undefined && R > 0;
    const F = withProfile ? Z + G : Z;
    const Xs = new Float32Array(nS * F), Xq = new Float32Array(nQ * F);
    for (let i = 0; i < nS; i++) Xs.set(z.subarray(i * Z, (i + 1) * Z), i * F);
    for (let i = 0; i < nQ; i++) Xq.set(z.subarray((nS + i) * Z, (nS + i + 1) * Z), i * F);
    if (withProfile) {
      const index = this.index!;
      index.count(profileRows, 0, R, 1);
      const minCount = minCountFor(profileCfg, R), weight = profileWeight(profileCfg, R);
      for (let i = 0; i < nS; i++) index.novelty(rows[i], minCount, weight, ys[i] === 0, Xs, i * F + Z);
      for (let i = 0; i < nQ; i++) index.novelty(rows[nS + i], minCount, weight, false, Xq, i * F + Z);
      index.count(profileRows, 0, R, -1);
    }

    // The inner loop, from θ₀ = [w₀; a₀; b₀] (or [w₀; b₀]).
    const th0 = new Float64Array(F + 1);
    for (let j = 0; j < F; j++) th0[j] = this.theta0[j];
    th0[F] = this.theta0[Z + G];
    const th = new Float64Array(F + 1);
    const tape = Array.from({ length: cfg.adapt.steps + 1 }, () => new Float64Array(F + 1));
    const nonNeg: NonNegative | null = withProfile ? { from: Z, to: F } : null;
    const scale = Math.exp(this.logScale[0]);
    if (cfg.method === "proto") protoHead(th0, Xs, ys, nS, F, scale, th, nonNeg);
    else fitHead(th0, Xs, ys, nS, F, cfg.adapt, th, tape, nonNeg);

    // Query loss (class-balanced) at the adapted head; gradients at θ and at the query embeddings.
    const thBar = new Float64Array(F + 1), dZ = this.dZ;
    const wq = 1 / (nQ * cfg.metaBatch);
    let loss = 0;
    for (let i = 0; i < nQ; i++) {
      let s = th[F];
      for (let j = 0; j < F; j++) s += th[j] * Xq[i * F + j];
      const yt = smooth(this.set.target ? this.set.target[rows[nS + i]] : ys[nS + i], cfg.labelSmoothing);
      const h = rowWeight(ys[nS + i], s, cfg.hardBenign);
      loss += h * (softplus(s) - yt * s) / nQ;
      const r = wq * h * (sigmoid(s) - yt);
      for (let j = 0; j < F; j++) thBar[j] += r * Xq[i * F + j];
      for (let j = 0; j < Z; j++) dZ[(nS + i) * Z + j] = r * th[j];
      thBar[F] += r;
    }

    // Backward through the inner loop to θ₀ and the support embeddings.
    const th0Bar = new Float64Array(F + 1), XsBar = new Float32Array(nS * F);
    if (cfg.method === "proto") {
      this.gLogScale[0] += scale * protoHeadBackward(thBar, Xs, ys, nS, F, scale, th0Bar, XsBar);
    } else {
      fitHeadBackward(thBar, tape, Xs, ys, nS, F, cfg.adapt, cfg.method === "anil-fo", th0Bar, XsBar, nonNeg);
    }
    for (let j = 0; j < F; j++) this.gTheta0[j] += th0Bar[j];
    this.gTheta0[Z + G] += th0Bar[F];
    for (let i = 0; i < nS; i++) {
      for (let j = 0; j < Z; j++) dZ[i * Z + j] = XsBar[i * F + j];
    }
    this.backbone.backward(this.set, rows, dZ);
    return { loss, rows: nS + nQ };
  }
}
