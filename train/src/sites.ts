/**
 * Leave-sites-out validation on the real sites, and the calibration of the shipped score.
 *
 * The real sites are dealt into `k` folds. Rotation `r` tests fold `r`, calibrates on fold `r+1` (Platt
 * scaling of the global head's logit and the default τ) and trains on the others, so no figure of a test
 * site ever came from a choice made on it. The shipped model is trained on every fold but the calibration
 * fold `SHIPPED_CAL_FOLD`, whose sites choose its calibration and τ the same way.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RequestRecord } from "@taugate/record/record.ts";
import { logitWithHead, sigmoid } from "@taugate/heads/score.ts";
import { categoryOf, HELD_OUT_FAMILIES } from "./data/families.ts";
import { foldsOf, loadSite, ordinaryRecords, siteIds, type SiteRecord } from "./data/sites.ts";
import { auc, median, tprAtFpr } from "./eval/metrics.ts";
import { featurise, featuriseOverflow, rowFeatures } from "./nn/features.ts";
import {
  AttackMaker,
  type SiteEval,
  siteEvalSet,
  siteTrainTenant,
  softTargetsOf,
  type TenantRecords,
  trainAttackMaker,
  type World,
  type WorldConfig,
} from "./synth/world.ts";
import type { Pools, Split } from "./data/pools.ts";
import { FEATURE_SPEC, specId } from "@taugate/features/mod.ts";
import type { HeadParams, ModelMeta } from "@taugate/model/types.ts";
import { createTsEngineFromModel, type TsEngine } from "@taugate/model/ts_engine.ts";
import { readModelOnnx } from "@taugate/model/onnx/read.ts";
import type { RunConfig } from "./config.ts";
import { exportModel, round } from "./export/model.ts";
import { buildTaskSet, repeatTasks, type TaskSet } from "./learn/tasks.ts";
import { train, type Trained } from "./learn/meta.ts";
import { log } from "./util/progress.ts";

/** Folds of the real sites. */
export const SITE_FOLDS = 5;
/** The fold whose sites calibrate the shipped model (and which it never trains on). */
export const SHIPPED_CAL_FOLD = 0;
/**
 * The fold the design was chosen on (which anomaly families and scanner targets meta-training uses, the
 * context fields of the feature spec, the benign volume): rotation 0's test fold. Its figures are reported
 * apart; the headline is the other folds', which no choice ever looked at.
 */
export const DESIGN_FOLD = 0;

/** Block-rate targets τ is chosen for, on calibration sites: median and worst site. */
export const TAU_TARGET = { median: 0.0005, worst: 0.003 };

/** A site's ordinary records, loaded once. */
export interface SiteData {
  id: string;
  fold: number;
  /** Ordinary records, every one (block rates). */
  ordinary: SiteRecord[];
  /** Ordinary records, deduplicated (training). */
  unique: SiteRecord[];
  dropped: Record<string, number>;
  total: number;
}

/** Loads every site of a data folder with its fold and filter account. */
export function loadSiteData(dataDir: string, k = SITE_FOLDS): SiteData[] {
  const ids = siteIds(dataDir);
  const folds = foldsOf(ids, k);
  return ids.map((id) => {
    const site = loadSite(dataDir, id);
    const all = ordinaryRecords(site, false);
    const unique = ordinaryRecords(site, true);
    return {
      id,
      fold: folds.get(id)!,
      ordinary: all.kept,
      unique: unique.kept,
      dropped: all.dropped,
      total: site.records.length,
    };
  });
}

/**
 * The training tasks, featurised: the synthetic tenants, then the real sites' (listed `world.siteRepeat`
 * times, `repeatTasks`), then any others (the user's records), with the world's soft targets. The shipped
 * model (`pipeline.ts`) and every rotation train on tasks built here.
 *
 * @param synthetic The synthetic tenants.
 * @param sites The real sites' tenants.
 * @param world The world's settings.
 * @param others Further tenants, listed once.
 */
export function trainingTasks(
  synthetic: readonly TenantRecords[],
  sites: readonly TenantRecords[],
  world: WorldConfig,
  others: readonly TenantRecords[] = [],
): TaskSet {
  const all = [...synthetic, ...sites, ...others];
  const set = buildTaskSet(
    all.map((t) => ({ id: t.tenant.id, benign: t.benign, attacks: t.attacks })),
    FEATURE_SPEC,
    softTargetsOf(world),
  );
  return repeatTasks(set, synthetic.length, synthetic.length + sites.length, world.siteRepeat ?? 1);
}

/** Meta-training tenants of the given sites. */
export function siteTrainTenants(
  sites: SiteData[],
  pools: Pools,
  seed: number,
  world: WorldConfig,
): TenantRecords[] {
  const maker = trainAttackMaker(pools, world);
  return sites.filter((s) => s.unique.length >= 20).map((s) =>
    siteTrainTenant(s.id, s.unique, seed, maker, world)
  );
}

/** Evaluation sets of the given sites, attacks from one payload split. */
export function siteEvalSets(
  sites: SiteData[],
  pools: Pools,
  seed: number,
  world: WorldConfig,
  split: Split,
  nAttacks: number,
): SiteEval[] {
  const maker = new AttackMaker(pools.values, pools.targets);
  return sites.filter((s) => s.unique.length >= 20).map((s) =>
    siteEvalSet(s.id, s.ordinary, seed, maker, world, split, nAttacks)
  );
}

/** Raw logits of the global head (`w·z + b`, no calibration) of a site's records. */
export interface SiteLogits {
  id: string;
  logged: Float64Array;
  dressed: Float64Array;
  attacks: Float64Array;
  families: string[];
}

/** The global head's raw logits of records, through the engine as the worker runs it (overflow views too). */
export function logitsOf(engine: TsEngine, head: HeadParams, records: RequestRecord[]): Float64Array {
  const out = new Float64Array(records.length);
  const chunk = 2000;
  for (let i = 0; i < records.length; i += chunk) {
    const slice = records.slice(i, i + chunk);
    const set = featurise(slice);
    for (let r = 0; r < set.n; r++) out[i + r] = logitWithHead(head, engine.embedSync(rowFeatures(set, r)));
    // What the caps cut off, as the worker scores it: the highest logit of a request and its overflow views.
    const ov = featuriseOverflow(slice, FEATURE_SPEC, set);
    for (let j = 0; ov !== null && j < ov.set.n; j++) {
      const x = logitWithHead(head, engine.embedSync(rowFeatures(ov.set, j)));
      if (x > out[i + ov.parent[j]]) out[i + ov.parent[j]] = x;
    }
  }
  return out;
}

/** Logits of evaluation sets. */
export function siteLogits(engine: TsEngine, head: HeadParams, sets: SiteEval[]): SiteLogits[] {
  return sets.map((s) => ({
    id: s.id,
    logged: logitsOf(engine, head, s.logged),
    dressed: logitsOf(engine, head, s.dressed),
    attacks: logitsOf(engine, head, s.attacks),
    families: s.attacks.map((a) => a.family ?? ""),
  }));
}

/** Platt scaling: `p = σ(A·logit + C)`. */
export interface Calibration {
  a: number;
  c: number;
}

/**
 * Fits Platt scaling by Newton's method on class-balanced weights (each site's benign and attack requests
 * weigh the same in total, and every site the same), so the calibrated score reads as the probability of
 * attack at even odds. Benign requests are the dressed ones and those as logged, half each.
 */
export function fitCalibration(sites: SiteLogits[]): Calibration {
  const xs: number[] = [], ys: number[] = [], ws: number[] = [];
  // Targets smoothed as Platt did (ε = 0.005), so separable data cannot send A to infinity.
  for (const s of sites) {
    const add = (v: Float64Array, y: number, w: number) => {
      for (const x of v) xs.push(x), ys.push(y), ws.push(w / v.length);
    };
    add(s.logged, 0.005, 0.5);
    add(s.dressed, 0.005, 0.5);
    add(s.attacks, 0.995, 1);
  }
  // Damped Newton: a step is halved until the loss falls, so saturated logits cannot make it diverge.
  const loss = (a: number, c: number) => {
    let l = 0;
    for (let i = 0; i < xs.length; i++) {
      const t = a * xs[i] + c;
      // log(1 + e^t) − y·t, stable for large |t|
      l += ws[i] * ((t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t))) - ys[i] * t);
    }
    return l;
  };
  let a = 1, c = 0, cur = loss(a, c);
  for (let it = 0; it < 100; it++) {
    let ga = 0, gc = 0, haa = 1e-9, hac = 0, hcc = 1e-9;
    for (let i = 0; i < xs.length; i++) {
      const p = sigmoid(a * xs[i] + c), w = ws[i], e = (p - ys[i]) * w, v = p * (1 - p) * w;
      ga += e * xs[i], gc += e, haa += v * xs[i] * xs[i], hac += v * xs[i], hcc += v;
    }
    const det = haa * hcc - hac * hac;
    let da = (hcc * ga - hac * gc) / det, dc = (haa * gc - hac * ga) / det;
    if (!Number.isFinite(da) || !Number.isFinite(dc)) da = ga, dc = gc;
    let step = 1, next = loss(a - da, c - dc);
    while (!(next < cur) && step > 1e-6) step /= 2, next = loss(a - step * da, c - step * dc);
    if (!(next < cur)) break;
    a -= step * da, c -= step * dc;
    const done = cur - next < 1e-12;
    cur = next;
    if (done) break;
  }
  return { a, c };
}

/** The head with the calibration folded in: `σ(A·(w·z + b) + C)`. */
export function calibratedHead(
  head: { w: Float32Array; b: number },
  cal: Calibration,
): { w: Float32Array; b: number } {
  return { w: head.w.map((x) => x * cal.a), b: head.b * cal.a + cal.c };
}

function blockRate(logits: Float64Array, cal: Calibration, tau: number): number {
  if (logits.length === 0) return NaN;
  let n = 0;
  for (const x of logits) if (sigmoid(cal.a * x + cal.c) >= tau) n++;
  return n / logits.length;
}

/**
 * The default τ (on the calibrated scale): the lowest of a grid of readable values at which the calibration
 * sites' block rates of their ordinary traffic (as logged and dressed, the worse of the two per site) stay
 * within {@link TAU_TARGET} on the median and the worst site, while the calibration attacks are still
 * caught. When the worst-site target cannot be met below the top of the scale (a site whose ordinary
 * traffic scores as high as attacks), the lowest τ that meets the median target is taken, and `worstMet`
 * says so. `target` replaces {@link TAU_TARGET} (`sitetau --target`: the rule with the issue's own bounds).
 */
export function chooseTau(
  sites: SiteLogits[],
  cal: Calibration,
  target: { median: number; worst: number } = TAU_TARGET,
): { tau: number; median: number; worst: number; worstMet: boolean } {
  const grid: number[] = [];
  for (let t = 0.5; t < 0.9; t += 0.01) grid.push(round(t, 2));
  for (let t = 0.9; t < 0.9995; t += 0.001) grid.push(round(t, 3));
  const rows = grid.map((tau) => {
    const rates = sites.map((s) => Math.max(blockRate(s.logged, cal, tau), blockRate(s.dressed, cal, tau)));
    const caught = median(sites.map((s) => blockRate(s.attacks, cal, tau)));
    return { tau, median: median(rates), worst: Math.max(...rates), caught };
  });
  const both = rows.find((r) => r.median <= target.median && r.worst <= target.worst && r.caught > 0);
  if (both) return { tau: both.tau, median: both.median, worst: both.worst, worstMet: true };
  const med = rows.find((r) => r.median <= target.median) ?? rows[rows.length - 1];
  return { tau: med.tau, median: med.median, worst: med.worst, worstMet: false };
}

/** Per-site figures at τ. */
export interface SiteFigures {
  site: string;
  fold: number;
  requests: number;
  /** Block rate of its ordinary traffic at τ: as logged, and dressed with full client headers. */
  block_logged: number;
  block_dressed: number;
  attacks: number;
  /** Detection at τ: seen-family injections, held-out-family injections, anomalies (site-relative). */
  detect_seen: number;
  detect_unseen: number;
  detect_anomaly: number;
  /** AUC and TPR at FPR on all attacks against ordinary traffic (as logged and dressed). */
  auc: number;
  auc_injection: number;
  tpr_1e2: number;
  tpr_1e3: number;
  /** Expected calibration error (10 bins, class-balanced) of the calibrated score. */
  ece: number;
}

/** Expected calibration error over 10 equal-width bins, with class weights that balance the two classes. */
export function ece(p: number[], y: number[]): number {
  const nPos = y.filter((v) => v === 1).length, nNeg = y.length - nPos;
  if (!nPos || !nNeg) return NaN;
  const bins = Array.from({ length: 10 }, () => ({ w: 0, p: 0, y: 0 }));
  for (let i = 0; i < p.length; i++) {
    const w = y[i] === 1 ? 0.5 / nPos : 0.5 / nNeg, b = bins[Math.min(9, Math.floor(p[i] * 10))];
    b.w += w, b.p += w * p[i], b.y += w * y[i];
  }
  return bins.reduce((s, b) => s + (b.w > 0 ? Math.abs(b.p - b.y) : 0), 0);
}

/** The reliability diagram's points: per bin, mean predicted score and observed attack share (balanced). */
export function reliability(
  p: number[],
  y: number[],
): { bin: number; predicted: number; observed: number; weight: number }[] {
  const nPos = y.filter((v) => v === 1).length, nNeg = y.length - nPos;
  const bins = Array.from({ length: 10 }, () => ({ w: 0, p: 0, y: 0 }));
  for (let i = 0; i < p.length; i++) {
    const w = y[i] === 1 ? 0.5 / nPos : 0.5 / nNeg, b = bins[Math.min(9, Math.floor(p[i] * 10))];
    b.w += w, b.p += w * p[i], b.y += w * y[i];
  }
  return bins.map((b, i) => ({
    bin: i,
    predicted: b.w ? round(b.p / b.w, 4) : NaN,
    observed: b.w ? round(b.y / b.w, 4) : NaN,
    weight: round(b.w, 4),
  }));
}

/** Figures of test sites at a calibration and τ. */
export function siteFigures(
  sites: SiteLogits[],
  folds: Map<string, number>,
  cal: Calibration,
  tau: number,
): SiteFigures[] {
  return sites.map((s) => {
    const cp = (x: number) => sigmoid(cal.a * x + cal.c);
    const det = (pred: (f: string) => boolean) => {
      let n = 0, k = 0;
      s.attacks.forEach((x, i) => {
        if (!pred(s.families[i])) return;
        n++;
        if (cp(x) >= tau) k++;
      });
      return n ? k / n : NaN;
    };
    const benign = [...s.logged, ...s.dressed].map(cp);
    const attacks = [...s.attacks].map(cp);
    const scores = [...benign, ...attacks];
    const labels = [...benign.map(() => 0), ...attacks.map(() => 1)];
    const inj = s.families.map((f) => categoryOf(f) === "injection");
    const injScores = [...benign, ...attacks.filter((_, i) => inj[i])];
    const injLabels = [...benign.map(() => 0), ...attacks.filter((_, i) => inj[i]).map(() => 1)];
    return {
      site: s.id,
      fold: folds.get(s.id) ?? -1,
      requests: s.logged.length,
      block_logged: round(blockRate(s.logged, cal, tau), 5),
      block_dressed: round(blockRate(s.dressed, cal, tau), 5),
      attacks: s.attacks.length,
      detect_seen: round(det((f) => categoryOf(f) === "injection" && !HELD_OUT_FAMILIES.includes(f)), 4),
      detect_unseen: round(det((f) => HELD_OUT_FAMILIES.includes(f)), 4),
      detect_anomaly: round(det((f) => categoryOf(f) === "anomaly"), 4),
      auc: round(auc(scores, labels), 4),
      auc_injection: round(auc(injScores, injLabels), 4),
      tpr_1e2: round(tprAtFpr(scores, labels, 1e-2), 4),
      tpr_1e3: round(tprAtFpr(scores, labels, 1e-3), 4),
      ece: round(ece(scores, labels), 4),
    };
  });
}

/**
 * The headline's test sites: the rotations' sites outside the design fold (all of them when that leaves
 * none, as in a quick run), and the design fold's apart.
 */
export function headlineSites(rotations: Rotation[]): { headline: SiteFigures[]; design: SiteFigures[] } {
  const all = rotations.flatMap((r) => r.sites);
  const clean = all.filter((r) => r.fold !== DESIGN_FOLD);
  return { headline: clean.length > 0 ? clean : all, design: all.filter((r) => r.fold === DESIGN_FOLD) };
}

/**
 * The block rate τ is chosen on, per site the worse of its two (as logged, dressed): median and worst site.
 */
export function worseBlock(rows: SiteFigures[]): { median: number; worst: number } {
  return summariseFigures(
    rows.map((x) => ({ ...x, block_logged: Math.max(x.block_logged, x.block_dressed) })),
  )
    .block_logged;
}

/** Median and worst (max for block rates, min otherwise) of per-site figures. */
export function summariseFigures(rows: SiteFigures[]): Record<string, { median: number; worst: number }> {
  const out: Record<string, { median: number; worst: number }> = {};
  const keys = [
    "block_logged",
    "block_dressed",
    "detect_seen",
    "detect_unseen",
    "detect_anomaly",
    "auc",
    "auc_injection",
    "tpr_1e2",
    "tpr_1e3",
    "ece",
  ] as const;
  for (const k of keys) {
    const xs = rows.map((r) => r[k]).filter((x) => !Number.isNaN(x));
    const worst = k.startsWith("block") || k === "ece" ? Math.max(...xs) : Math.min(...xs);
    out[k] = { median: round(median(xs), 5), worst: round(worst, 5) };
  }
  return out;
}

/**
 * Trains a model on the synthetic tenants plus the given real sites (method and budget of `cfg.train`), and
 * loads its int8 export as the worker would run it.
 */
export function trainOnSites(
  world: World,
  sites: SiteData[],
  cfg: RunConfig,
  seed: number,
  quiet: boolean,
): { engine: TsEngine; head: HeadParams; trained: Trained } {
  const siteTenants = siteTrainTenants(sites, world.pools, seed, cfg.world);
  const tasks = trainingTasks(world.train, siteTenants, cfg.world);
  log(
    quiet,
    "sites",
    `${siteTenants.length} site tenants + ${world.train.length} synthetic, ${tasks.set.n} rows`,
  );
  const trained = train(tasks, { ...cfg.train, seed }, quiet);
  const meta: ModelMeta = {
    modelId: "draft",
    specId: specId(FEATURE_SPEC),
    dim: FEATURE_SPEC.dim,
    denseDim: trained.backbone.shape.denseDim,
    embedDim: trained.backbone.embedDim,
    tau: 0.5,
    head: { w: Array.from(trained.head.w), b: trained.head.b },
  };
  const bytes = exportModel(trained.backbone.toWeights(), trained.head, meta, "draft").int8;
  const engine = createTsEngineFromModel(readModelOnnx(bytes));
  return { engine, head: engine.head, trained };
}

/** One rotation's account. */
export interface Rotation {
  testFold: number;
  calFold: number;
  trainSites: string[];
  calibration: Calibration;
  tau: number;
  calBlock: { median: number; worst: number; worstMet: boolean };
  sites: SiteFigures[];
  /**
   * The τ the same rule chooses on the test fold itself, and the test sites' figures there: an oracle, never a
   * deployable τ, reported beside the real ones to show what τ's transfer from the calibration fold costs
   * (`sitetau` measures the same of a saved model). Absent in summaries written before it.
   */
  own?: { tau: number; worstMet: boolean; sites: SiteFigures[] };
}

/**
 * Where rotations save their models (`rotations --save`): each rotation's model, calibrated, with its τ,
 * adaptation settings and canaries, as `deno task train` exports the shipped one, so that the evaluation
 * commands (`sitefewshot`, `sitefp`, `--model`) can run it on its own test fold.
 */
export interface RotationSave {
  dir: string;
  /** The canary records the models ship (`meta.canary.records`: the guard's and the anchors' attacks). */
  canaries: readonly RequestRecord[];
}

/** The file a rotation's model is saved to. */
export function rotationModelPath(dir: string, testFold: number, seed: number): string {
  return join(dir, `rotation-${testFold}-seed${seed}.onnx`);
}

/**
 * Leave-sites-out validation: for each fold, a model trained without it and without its calibration fold,
 * calibrated and given τ on the calibration fold, measured on the test fold.
 */
export function runRotations(
  world: World,
  sites: SiteData[],
  cfg: RunConfig,
  seed: number,
  quiet: boolean,
  folds = SITE_FOLDS,
  only?: number[],
  save?: RotationSave,
): Rotation[] {
  const foldOfSite = new Map(sites.map((s) => [s.id, s.fold]));
  const rotations: Rotation[] = [];
  for (let r = 0; r < folds; r++) {
    if (only && !only.includes(r)) continue;
    const calFold = (r + 1) % folds;
    const trainSites = sites.filter((s) => s.fold !== r && s.fold !== calFold);
    const m = trainOnSites(world, trainSites, cfg, seed, quiet);
    const foldSets = (fold: number, split: Split) =>
      siteEvalSets(
        sites.filter((s) => s.fold === fold),
        world.pools,
        seed,
        cfg.world,
        split,
        cfg.siteAttacks,
      );
    const calLogits = siteLogits(m.engine, m.head, foldSets(calFold, "support"));
    const cal = fitCalibration(calLogits);
    const chosen = chooseTau(calLogits, cal);
    const testSets = foldSets(r, "query");
    const tl = siteLogits(m.engine, m.head, testSets);
    const figures = siteFigures(tl, foldOfSite, cal, chosen.tau);
    const own = chooseTau(tl, cal);
    const sum = summariseFigures(figures);
    log(
      quiet,
      "sites",
      `rotation ${r}: cal fold ${calFold} → A ${round(cal.a, 3)} C ${
        round(cal.c, 3)
      } τ ${chosen.tau}; test fold ${r}: ` +
        `block median ${sum.block_logged.median} worst ${sum.block_logged.worst} (dressed ${sum.block_dressed.median}/${sum.block_dressed.worst}), ` +
        `seen ${sum.detect_seen.median} unseen ${sum.detect_unseen.median} anomaly ${sum.detect_anomaly.median}, AUC ${sum.auc.median}`,
    );
    if (save) {
      const t = m.trained, head = calibratedHead(t.head, cal);
      const meta: ModelMeta = {
        modelId: `taugate-rotation-${r}-seed${seed}`,
        specId: specId(FEATURE_SPEC),
        dim: FEATURE_SPEC.dim,
        denseDim: t.backbone.shape.denseDim,
        embedDim: t.backbone.embedDim,
        tau: chosen.tau,
        head: { w: Array.from(head.w), b: head.b },
        adapt: t.adapt,
        calibration: { a: round(cal.a, 5), c: round(cal.c, 5), folded: "into head.w and head.b" },
        canary: {
          records: save.canaries.map((x) => ({
            method: x.method,
            url: x.url,
            headers: x.headers,
            body: x.body,
          })),
        },
        rotation: { testFold: r, calFold, trainSites: trainSites.map((x) => x.id) },
      };
      mkdirSync(save.dir, { recursive: true });
      const path = rotationModelPath(save.dir, r, seed);
      writeFileSync(path, exportModel(t.backbone.toWeights(), head, meta, meta.modelId).int8);
      log(quiet, "sites", `rotation ${r}: model written to ${path}`);
    }
    rotations.push({
      testFold: r,
      calFold,
      trainSites: trainSites.map((s) => s.id),
      calibration: { a: round(cal.a, 5), c: round(cal.c, 5) },
      tau: chosen.tau,
      calBlock: { median: chosen.median, worst: chosen.worst, worstMet: chosen.worstMet },
      sites: figures,
      own: { tau: own.tau, worstMet: own.worstMet, sites: siteFigures(tl, foldOfSite, cal, own.tau) },
    });
  }
  return rotations;
}
