/**
 * `deno task train --ablate`: the measurements that chose the design, each with the same (reduced) budget:
 * the meta-learning method (ERM, first-order ANIL, both), the site profile (trained and adapted with it or
 * without; its minCount policy and confidence; non-negative novelty weights), and the feature spec (D, H1
 * and the n-gram set). Models are evaluated in memory (float32) on validation data only — the held-out
 * tenants' *support* pools split in two by page (`learn/validation.ts`) — never on a query set, with the
 * same episodes as `deno task eval` (shots and N unlabelled records, 2% attacks, from one half; scores on the
 * other). Writes `models/ablations.json`.
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { FEATURE_SPEC, type FeatureSpec, specId } from "@taugate/features/mod.ts";
import type { RunConfig } from "./config.ts";
import { loadSources } from "./data/sources.ts";
import { evaluate, headMethod, type ResultRow } from "./eval/fewshot.ts";
import { meanStd } from "./eval/metrics.ts";
import { buildTaskSet } from "./learn/tasks.ts";
import { train, type TrainConfig } from "./learn/meta.ts";
import { validationTenants } from "./learn/validation.ts";
import { featurise } from "./nn/features.ts";
import type { RunPaths } from "./pipeline.ts";
import { buildWorld } from "./synth/world.ts";
import { log } from "./util/progress.ts";

/** Updates of every ablation run (the shipped model trains longer). */
export const ABLATION_UPDATES = 1500;
/** Training seeds of every variant. */
export const ABLATION_SEEDS = 2;
/** Unlabelled records per episode on the unseen site's validation half, and on the fwaf ones (smaller). */
export const ABLATION_UNLABELED = { urldetect: 1000, fwaf: 500 };

/** The columns every table reports (validation data: support-pool halves of the held-out tenants). */
export const ABLATION_COLUMNS = [
  "ud injections K=0",
  "ud all K=10 N=0",
  "ud all K=10 N=1000",
  "ud anomalies K=10 N=1000",
  "ud all K=50 N=1000 TPR@1e-2",
  "fwaf all K=10 N=0",
  "fwaf all K=10 N=500",
];

type Scores = Record<string, number>;

function pick(rows: ResultRow[], k: number, key: keyof ResultRow = "auc"): number {
  return (rows.find((r) => r.shots === k)?.[key] as number) ?? NaN;
}

/** Trains one configuration and scores it on the validation tenants. */
export function trainAndScore(
  world: ReturnType<typeof buildWorld>,
  spec: Readonly<FeatureSpec>,
  cfg: TrainConfig,
  quiet: boolean,
): { scores: Scores; seconds: number; rows: number } {
  const tasks = buildTaskSet(
    world.train.map((t) => ({ id: t.tenant.id, benign: t.benign, attacks: t.attacks })),
    spec,
  );
  const t = train(tasks, cfg, quiet);
  const validation = validationTenants(world.eval.map((e) => ({ id: e.tenant.id, support: e.support })), 1);
  const scores: Scores = {};
  const fwaf = { n0: [] as number[], nU: [] as number[] };
  for (const v of validation) {
    const d = {
      support: featurise(v.support, spec),
      query: featurise(v.query, spec),
      queryFamily: v.query.map((r) => r.family ?? ""),
    };
    const m = headMethod("m", (set) => t.backbone.embedAll(set), t.head, t.adapt, 0.5);
    const run = (shots: number[], unlabeled: number) =>
      evaluate(d, [m], { shots, episodes: 5, seed: 1, unlabeled, contamination: 0.02 });
    if (v.id === "urldetect") {
      const r0 = run([0, 10], 0), rU = run([10, 50], ABLATION_UNLABELED.urldetect);
      scores["ud injections K=0"] = pick(r0.subsets["injections"], 0);
      scores["ud all K=10 N=0"] = pick(r0.results, 10);
      scores["ud all K=10 N=1000"] = pick(rU.results, 10);
      scores["ud anomalies K=10 N=1000"] = pick(rU.subsets["anomalies"], 10);
      scores["ud all K=50 N=1000 TPR@1e-2"] = pick(rU.results, 50, "tpr_at_fpr_1e-2");
    } else {
      fwaf.n0.push(pick(run([10], 0).results, 10));
      fwaf.nU.push(pick(run([10], ABLATION_UNLABELED.fwaf).results, 10));
    }
  }
  scores["fwaf all K=10 N=0"] = meanStd(fwaf.n0).mean;
  scores["fwaf all K=10 N=500"] = meanStd(fwaf.nU).mean;
  return { scores, seconds: t.seconds, rows: t.rows };
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
  type Table = { title: string; header: string[]; rows: (string | number)[][] };
  const tables: Table[] = [];
  // Training seeds: the differences between variants are of the order of the spread between seeds.
  const seeds = Array.from({ length: ABLATION_SEEDS }, (_, i) => seed + i);
  /** One variant's row: mean ± std over the seeds, per column, and the mean training time. */
  const variant = (label: string, spec: Readonly<FeatureSpec>, c: TrainConfig) => {
    log(quiet, "ablate", `${label} (${specId(spec)}), seeds ${seeds.join(", ")}`);
    const runs = seeds.map((s) => trainAndScore(world, spec, { ...c, seed: s }, quiet));
    return [
      label,
      ...ABLATION_COLUMNS.map((col) => {
        const { mean, std } = meanStd(runs.map((r) => r.scores[col]));
        return `${mean.toFixed(3)} ± ${std.toFixed(3)}`;
      }),
      Math.round(runs.reduce((a, r) => a + r.seconds, 0) / runs.length),
    ];
  };
  const header = (first: string) => [first, ...ABLATION_COLUMNS, "train s"];
  const profile = base.adapt.profile!;

  // 1. Meta-learning method, same budget in rows (all with the site profile).
  const methods: [string, TrainConfig][] = [
    ["erm (no episodes)", { ...base, method: "erm", pretrainShare: 0 }],
    ["anil-fo (first order, episodes only)", { ...base, method: "anil-fo", pretrainShare: 0 }],
    ["erm for half, then anil-fo", { ...base, method: "anil-fo", pretrainShare: 0.5 }],
  ];
  tables.push({
    title: "Meta-learning method (same budget in rows, site profile in training and adaptation)",
    header: header("method"),
    rows: methods.map(([label, c]) => variant(label, FEATURE_SPEC, c)),
  });

  // 2. The site profile: none, the shipped settings, and one change at a time.
  const withProfile = (p: Partial<typeof profile>): TrainConfig => ({
    ...base,
    adapt: { ...base.adapt, profile: { ...profile, ...p } },
  });
  const profiles: [string, TrainConfig][] = [
    ["no site profile (head on z alone)", { ...base, adapt: { ...base.adapt, profile: undefined } }],
    [
      `profile: minCount ${profile.minCount}, confidence ${profile.confidence}`,
      withProfile({}),
    ],
    ["profile: minCount 2 from 200 requests", withProfile({ minCountLarge: 2, largeFrom: 200 })],
    ["profile: confidence 0 (no scaling by profile size)", withProfile({ confidence: 0 })],
    ["profile: confidence 300", withProfile({ confidence: 300 })],
  ];
  tables.push({
    title: "Site profile (shipped method; N unlabelled records with 2% attacks)",
    header: header("variant"),
    rows: profiles.map(([label, c]) => variant(label, FEATURE_SPEC, c)),
  });

  // 3. Feature spec: D, H1 and the n-gram set (int8 W1 is D × H1 bytes: D = 8192 keeps H1 = 24 to stay small).
  const specs: [string, FeatureSpec, TrainConfig][] = [
    [`D=4096, H1=32, n-grams [2,3]`, { ...FEATURE_SPEC, dim: 4096, ngrams: [2, 3] }, { ...base, hidden: 32 }],
    [`D=4096, H1=32, n-grams [3]`, { ...FEATURE_SPEC, dim: 4096, ngrams: [3] }, { ...base, hidden: 32 }],
    [`D=8192, H1=24, n-grams [2,3]`, { ...FEATURE_SPEC, dim: 8192, ngrams: [2, 3] }, { ...base, hidden: 24 }],
    [`D=8192, H1=24, n-grams [3]`, { ...FEATURE_SPEC, dim: 8192, ngrams: [3] }, { ...base, hidden: 24 }],
  ];
  tables.push({
    title: "Feature spec (shipped method and profile)",
    header: header("spec"),
    rows: specs.map(([label, spec, c]) => variant(label, spec, c)),
  });

  const out = {
    command: "deno task train --ablate",
    note: `world seed ${seed}; ${base.updates} updates per run (the shipped model: ${cfg.train.updates}); ` +
      `mean ± std over training seeds ${seeds.join(", ")}; float32 in memory; validation data only: the ` +
      `held-out tenants' support pools split by page, shots and unlabelled records from one half, scores on ` +
      `the other ("ud": urldetect's support pool, N = ${ABLATION_UNLABELED.urldetect}; "fwaf": mean over the ` +
      `six held-out fwaf tenants' support pools, N = ${ABLATION_UNLABELED.fwaf}); 5 episodes per K`,
    tables,
  };
  writeFileSync(join(paths.outDir, "ablations.json"), JSON.stringify(out, null, 1) + "\n");
}
