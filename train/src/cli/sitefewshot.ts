/**
 * `node train/bin/run.mjs sitefewshot [--folds 0] [--split query] [--shots 0,5,10,50] [--episodes 3]
 * [--unlabeled 0] [--sites N] [--variants a,b] [--json OUT.json]`: the few-shot evaluation of `deno task eval`
 * run on real sites left out of training, site by site, and summarised as the median over sites.
 *
 * For each site of the chosen folds: its ordinary requests (dressed with a client context) and attacks
 * implanted into its own requests (`siteEvalSet`, payloads of the given split), cut in two halves by a seeded
 * shuffle: one is the support pool, the other the query set. Then `evaluate` with the shipped model
 * (`taugate`, adapted as the worker adapts), the baseline (`erm-finetune`) and `scratch-logreg`, exactly the
 * methods of `deno task eval`; `--variants` adds the shipped model adapted with other settings (see
 * `VARIANTS`), for choosing them on training folds.
 *
 * The shipped model is trained on folds 1–4 and calibrated on fold 0 (`SHIPPED_CAL_FOLD`), so fold 0's sites
 * are the ones it never trained on; folds 1–4 are for choosing adaptation settings. `--help` lists every option
 * with its default (the table is `SITEFEWSHOT` in `commands.ts`).
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import type { AdaptConfig } from "@taugate/heads/adapt.ts";
import { DEFAULT_VALUE_CONFIG, type ValueProfileConfig } from "@taugate/heads/value_profile.ts";
import type { SiteProfileConfig } from "@taugate/heads/site_profile.ts";
import { RESIDUAL_DEFAULT, type ResidualConfig } from "@taugate/heads/residual.ts";
import type { RequestRecord } from "@taugate/record/record.ts";
import { type EvalMethod, evaluate, type ResultRow, scratchLogRegMethod } from "../eval/fewshot.ts";
import { median } from "../eval/metrics.ts";
import { loadModel, modelMethod } from "../eval/model_io.ts";
import { featurise, featuriseOverflow } from "../nn/features.ts";
import { DEFAULT_RUN } from "../config.ts";
import { loadSources } from "../data/sources.ts";
import { buildWorld } from "../synth/world.ts";
import { loadSiteData, siteEvalSets } from "../sites.ts";
import { Rng } from "../util/rng.ts";
import { parseCli } from "./args.ts";
import { SITEFEWSHOT } from "./commands.ts";
import { DEFAULT_BASELINE, DEFAULT_MODEL } from "./eval.ts";
import type { Split } from "../data/pools.ts";

/** Adaptation settings tried beside the shipped ones: overrides of `meta.adapt`. */
export const VARIANTS: Record<string, (a: AdaptConfig) => AdaptConfig> = {
  "no-profile": (a) => ({ ...a, profile: undefined }),
  "no-residual": (a) => ({ ...a, residual: undefined }),
  residual: (a) => ({ ...a, residual: { ...RESIDUAL_DEFAULT, ...envResidual() } }),
  "no-values": (a) => ({ ...a, values: undefined }),
  values: (a) => ({ ...a, values: { ...DEFAULT_VALUE_CONFIG, ...envValues() } }),
  profile: (a) => (a.profile ? { ...a, profile: { ...a.profile, ...envProfile() } } : a),
};

/** Site-profile settings from `TG_PROFILE` (JSON; `a0` among them), for trying them. */
function envProfile(): Partial<SiteProfileConfig> {
  const v = process.env.TG_PROFILE;
  return v ? JSON.parse(v) : {};
}

/** Value-profile settings from `TG_VALUES` (JSON), for trying them. */
function envValues(): Partial<ValueProfileConfig> {
  const v = process.env.TG_VALUES;
  return v ? JSON.parse(v) : {};
}

/** Residual settings from `TG_RESIDUAL` (JSON), for trying them. */
function envResidual(): Partial<ResidualConfig> {
  const v = process.env.TG_RESIDUAL;
  return v ? JSON.parse(v) : {};
}

/** One site's results. */
export interface SiteFewShot {
  id: string;
  counts: { benign: number; attack: number };
  /** The query half's counts. */
  query: { benign: number; attack: number };
  results: ResultRow[];
  subsets: Record<string, ResultRow[]>;
}

/** The support and query halves of a site's evaluation set. */
export function siteSupportQuery(
  benign: RequestRecord[],
  attacks: RequestRecord[],
  seed: number,
  id: string,
  maxBenign = 1600,
): { support: RequestRecord[]; query: RequestRecord[] } {
  const r = new Rng(seed, `site-fewshot:${id}`);
  const b = r.shuffle([...benign]).slice(0, maxBenign), a = r.shuffle([...attacks]);
  const half = <T>(xs: T[], k: number) => xs.filter((_, i) => i % 2 === k);
  return { support: [...half(b, 0), ...half(a, 0)], query: [...half(b, 1), ...half(a, 1)] };
}

/** The CLI entry: returns the exit code. */
export function main(argv: string[]): Promise<number> {
  const args = parseCli(argv, SITEFEWSHOT);
  if (typeof args === "number") return Promise.resolve(args);
  const variants = args.str("variants", "").split(",").filter((x) => x);
  const unknown = variants.filter((v) => !(v in VARIANTS));
  if (unknown.length > 0) {
    console.error(
      `sitefewshot: unknown variant ${unknown.join(", ")}: one of ${Object.keys(VARIANTS).join(", ")}`,
    );
    return Promise.resolve(2);
  }
  const dataDir = args.str("data")!;
  const folds = args.ints("folds");
  const split = args.str("split") as Split;
  const shots = args.ints("shots");
  const episodes = args.num("episodes");
  const unlabeled = args.num("unlabeled");
  const seed = args.num("seed");
  const maxSites = args.num("sites");
  const m = loadModel(args.str("model", DEFAULT_MODEL));
  const b = args.flag("no-baseline") ? null : loadModel(DEFAULT_BASELINE);
  const world = buildWorld(loadSources(dataDir), seed, DEFAULT_RUN.world);
  const sites = loadSiteData(dataDir).filter((s) => folds.includes(s.fold)).slice(0, maxSites);
  const sets = siteEvalSets(sites, world.pools, seed, DEFAULT_RUN.world, split, 400);
  const methods: EvalMethod[] = [modelMethod("taugate", m)];
  for (const v of variants) {
    methods.push(modelMethod(`taugate:${v}`, m, VARIANTS[v](m.adapt)));
  }
  if (b) methods.push(modelMethod("erm-finetune", b));
  methods.push(scratchLogRegMethod(m.adapt.profile, m.adapt.values));
  const out: SiteFewShot[] = [];
  for (const s of sets) {
    const { support, query } = siteSupportQuery(s.dressed, s.attacks, seed, s.id);
    const data = {
      support: featurise(support),
      query: featurise(query),
      queryFamily: query.map((r) => r.family ?? ""),
      queryOverflow: featuriseOverflow(query),
      supportOverflow: featuriseOverflow(support),
    };
    const t0 = performance.now();
    const res = evaluate(data, methods, { shots, episodes, seed, unlabeled, contamination: 0.02 });
    const q = res.counts.query;
    out.push({
      id: s.id,
      counts: res.counts.support,
      query: { benign: q.benign, attack: q.injections + q.anomalies },
      results: res.results,
      subsets: res.subsets,
    });
    const line = res.results.map((r) => `${r.method}@${r.shots} ${r.auc.toFixed(3)}`).join("  ");
    console.error(`${s.id} (${((performance.now() - t0) / 1000).toFixed(1)} s): ${line}`);
  }
  console.log(summarise(out));
  const json = args.str("json");
  if (json) writeFileSync(json, JSON.stringify(out, null, 1) + "\n");
  return Promise.resolve(0);
}

/**
 * Median over sites of AUC and TPR at 1e-2, per method and K, overall, for the injections, the anomalies and
 * the parameter tampering among them.
 */
export function summarise(sites: SiteFewShot[]): string {
  if (sites.length === 0) return "no sites";
  const lines = [
    `${sites.length} sites; median over sites: AUC / TPR@1e-2 (all | injections | anomalies | tampering)`,
  ];
  const rows = sites[0].results;
  for (let i = 0; i < rows.length; i++) {
    const pick = (f: (s: SiteFewShot) => ResultRow) => {
      const rs = sites.map(f);
      return `${median(rs.map((r) => r.auc)).toFixed(3)} / ${
        median(rs.map((r) => r["tpr_at_fpr_1e-2"])).toFixed(3)
      }`;
    };
    lines.push(
      `${rows[i].method.padEnd(26)} K=${String(rows[i].shots).padEnd(3)} ${pick((s) => s.results[i])} | ${
        pick((s) => s.subsets.injections[i])
      } | ${pick((s) => s.subsets.anomalies[i])} | ${pick((s) => s.subsets.tampering[i])}`,
    );
  }
  // What a tenant meets at the head's own τ: the share of the query's ordinary requests blocked, from the
  // precision and recall at τ (false positives = true positives · (1/precision − 1)).
  lines.push("ordinary requests blocked at the head's τ: median / worst site");
  for (let i = 0; i < rows.length; i++) {
    if (rows[i].method === "scratch-logreg") continue;
    const rates = sites.map((s) => blockedAtTau(s.results[i], s.query));
    const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
    lines.push(
      `${rows[i].method.padEnd(26)} K=${String(rows[i].shots).padEnd(3)} ${pct(median(rates))} / ${
        pct(Math.max(...rates))
      }`,
    );
  }
  return lines.join("\n");
}

/** The share of a query's ordinary requests a method flags at its τ, from its precision and recall there. */
export function blockedAtTau(r: ResultRow, query: { benign: number; attack: number }): number {
  const tp = r.recall_at_tau * query.attack;
  if (tp === 0 || query.benign === 0) return 0;
  return Math.min(1, (tp * (1 / r.precision_at_tau - 1)) / query.benign);
}
