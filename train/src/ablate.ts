/**
 * `deno task train --ablate`: the measurements that chose the design, each with the same (reduced) budget:
 * the meta-learning method (ANIL through the steps, first-order, prototype head, plain ERM), the site
 * profile (trained and adapted with it or without, with and without unlabelled traffic), and the feature
 * spec (D and the n-gram set). Models are evaluated in memory (float32) on the unseen tenant and the first two
 * held-out fwaf tenants with the same episodes as `deno task eval`. Writes `models/ablations.json`.
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { FEATURE_SPEC, type FeatureSpec, specId } from "../../src/features/mod.ts";
import { PROFILE_TEMPLATE, type RunConfig } from "./config.ts";
import { loadSources } from "./data/sources.ts";
import { evaluate, headMethod, type ResultRow } from "./eval/fewshot.ts";
import { meanStd } from "./eval/metrics.ts";
import { buildTaskSet } from "./learn/tasks.ts";
import { train, type TrainConfig } from "./learn/meta.ts";
import { featurise } from "./nn/features.ts";
import type { RunPaths } from "./pipeline.ts";
import { buildWorld } from "./synth/world.ts";
import { log } from "./util/progress.ts";

/** Updates of every ablation run (the shipped model trains longer). */
export const ABLATION_UPDATES = 1500;
/** Training seeds of the method and profile tables (the spec table uses one). */
export const ABLATION_SEEDS = 3;

interface Scores {
  [key: string]: number;
}

function pick(
  rows: ResultRow[],
  k: number,
  key: keyof ResultRow = "auc",
): number {
  return (rows.find((r) => r.shots === k)?.[key] as number) ?? NaN;
}

/** Trains one configuration and evaluates it on the ablation tenants, once per number of unlabelled records. */
export function trainAndScore(
  world: ReturnType<typeof buildWorld>,
  spec: Readonly<FeatureSpec>,
  cfg: TrainConfig,
  unlabeled: number[],
  quiet: boolean,
): { scores: Scores[]; seconds: number; rows: number } {
  const tasks = buildTaskSet(
    world.train.map((t) => ({
      id: t.tenant.id,
      benign: t.benign,
      attacks: t.attacks,
    })),
    spec,
  );
  const t = train(tasks, cfg, quiet);
  // The unseen source and the first two held-out fwaf groups.
  const fwaf = world.eval.map((e) => e.tenant.id).filter((id) => id.startsWith("fwaf-")).slice(0, 2);
  const tenants = world.eval.filter((x) => x.tenant.id === "urldetect" || fwaf.includes(x.tenant.id));
  const data = tenants.map((e) => ({
    id: e.tenant.id,
    support: featurise(e.support, spec),
    query: featurise(e.query, spec),
    queryFamily: e.query.map((r) => r.family ?? ""),
  }));
  const all = unlabeled.map((n) => {
    const scores: Scores = {};
    const fwafAll: number[] = [];
    for (const d of data) {
      const m = headMethod(
        "m",
        (set) => t.backbone.embedAll(set),
        t.head,
        t.adapt,
        0.5,
      );
      const r = evaluate(d, [m], {
        shots: [0, 10, 50],
        episodes: 5,
        seed: 1,
        unlabeled: n,
        contamination: 0.02,
      });
      if (d.id === "urldetect") {
        scores["urldetect all K=0"] = pick(r.results, 0);
        scores["urldetect all K=10"] = pick(r.results, 10);
        scores["urldetect all K=50"] = pick(r.results, 50);
        scores["urldetect all K=50 TPR@1e-2"] = pick(
          r.results,
          50,
          "tpr_at_fpr_1e-2",
        );
        scores["urldetect injections K=0"] = pick(r.subsets["injections"], 0);
        scores["urldetect anomalies K=10"] = pick(r.subsets["anomalies"], 10);
      } else fwafAll.push(pick(r.results, 10));
    }
    scores["fwaf held-out all K=10"] = fwafAll.reduce((a, b) => a + b, 0) /
      fwafAll.length;
    return scores;
  });
  return { scores: all, seconds: t.seconds, rows: t.rows };
}

/**
 * Runs the ablations and writes `models/ablations.json`.
 *
 * @param paths Data and output folders.
 * @param cfg The shipped configuration (the ablations change one thing at a time, with fewer updates).
 * @param seed The seed.
 * @param quiet No progress lines.
 */
export function runAblations(paths: RunPaths, cfg: RunConfig, seed: number, quiet = false): void {
  const world = buildWorld(loadSources(paths.dataDir), seed, cfg.world);
  const base: TrainConfig = { ...cfg.train, updates: Math.min(cfg.train.updates, ABLATION_UPDATES), seed };
  const columns = [
    "urldetect all K=0",
    "urldetect all K=10",
    "urldetect all K=50",
    "urldetect all K=50 TPR@1e-2",
    "urldetect injections K=0",
    "urldetect anomalies K=10",
    "fwaf held-out all K=10",
  ];
  type Table = { title: string; header: string[]; rows: (string | number)[][] };
  const tables: Table[] = [];
  // Training seeds: the differences between variants are of the order of the spread between seeds.
  const seeds = Array.from({ length: ABLATION_SEEDS }, (_, i) => seed + i);
  /** One variant's rows, one per number of unlabelled records: mean ± std over the seeds, per column. */
  const variant = (
    labels: string[],
    spec: Readonly<FeatureSpec>,
    c: TrainConfig,
    unlabeled: number[],
    n = seeds,
  ) => {
    log(quiet, "ablate", `${labels[0]} (${specId(spec)}), seeds ${n.join(", ")}`);
    const runs = n.map((s) => trainAndScore(world, spec, { ...c, seed: s }, unlabeled, quiet));
    return unlabeled.map((_, u) => [
      labels[u],
      ...columns.map((col) => {
        const { mean, std } = meanStd(runs.map((r) => r.scores[u][col]));
        return n.length > 1 ? `${mean.toFixed(3)} ± ${std.toFixed(3)}` : mean;
      }),
      Math.round(runs.reduce((a, r) => a + r.seconds, 0) / runs.length),
    ]);
  };

  // 1. Meta-learning method, same budget (ERM pre-training for half of it, then episodes, is one variant).
  const methods: [string, TrainConfig][] = [
    ["anil (second order through the steps)", { ...base, method: "anil", pretrainShare: 0 }],
    ["anil-fo (first order)", { ...base, method: "anil-fo", pretrainShare: 0 }],
    ["proto (prototype head)", { ...base, method: "proto", pretrainShare: 0 }],
    ["erm (no episodes)", { ...base, method: "erm", pretrainShare: 0 }],
    ["erm for half, then anil-fo", { ...base, method: "anil-fo", pretrainShare: 0.5 }],
  ];
  tables.push({
    title: "Meta-learning method (same budget in rows, no unlabelled traffic at evaluation)",
    header: ["method", ...columns, "train s"],
    rows: methods.flatMap(([label, c]) => variant([label], FEATURE_SPEC, c, [0])),
  });

  // 2. Site profile: meta-trained and adapted with it, or not; evaluated with N = 0 and 1000 unlabelled.
  const withProfile: TrainConfig = { ...base, adapt: { ...base.adapt, profile: PROFILE_TEMPLATE } };
  const without: TrainConfig = { ...base, adapt: { ...base.adapt, profile: undefined } };
  const profileRows: (string | number)[][] = [];
  for (const [label, c] of [["with profile", withProfile], ["without profile", without]] as const) {
    profileRows.push(...variant([`${label}, N = 0`, `${label}, N = 1000`], FEATURE_SPEC, c, [0, 1000]));
  }
  tables.push({
    title:
      `Site profile from unlabelled traffic (the shipped method; N unlabelled support records, 2% attacks)`,
    header: ["variant", ...columns, "train s"],
    rows: profileRows,
  });

  // 3. Feature spec: D and the n-gram set (int8 W1 is D × H1 bytes: D = 8192 keeps H1 = 24 to stay small).
  const specs: [string, FeatureSpec, TrainConfig][] = [
    [`D=4096, n-grams [3]`, { ...FEATURE_SPEC, ngrams: [3] }, base],
    [`D=4096, n-grams [2,3]`, { ...FEATURE_SPEC, ngrams: [2, 3] }, base],
    [`D=4096, n-grams [3,4]`, { ...FEATURE_SPEC, ngrams: [3, 4] }, base],
    [`D=4096, n-grams [2,3,4]`, { ...FEATURE_SPEC, ngrams: [2, 3, 4] }, base],
    [`D=2048, n-grams [2,3]`, { ...FEATURE_SPEC, dim: 2048, ngrams: [2, 3] }, base],
    [`D=8192, n-grams [2,3], H1=24`, { ...FEATURE_SPEC, dim: 8192, ngrams: [2, 3] }, { ...base, hidden: 24 }],
  ];
  tables.push({
    title: `Feature spec (the shipped method, no unlabelled traffic, one seed)`,
    header: ["spec", ...columns, "train s"],
    rows: specs.flatMap(([label, spec, c]) => variant([label], spec, c, [0], [seed])),
  });

  const out = {
    command: "deno task train --ablate",
    note: `world seed ${seed}; ${base.updates} updates per run (the shipped model: ${cfg.train.updates}); ` +
      `method and profile tables: mean ± std over training seeds ${
        seeds.join(", ")
      }; spec table: seed ${seed}; ` +
      `float32 in memory; 5 episodes per K on urldetect and the first two held-out fwaf tenants`,
    tables,
  };
  writeFileSync(join(paths.outDir, "ablations.json"), JSON.stringify(out, null, 1) + "\n");
}
