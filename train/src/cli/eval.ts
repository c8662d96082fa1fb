/**
 * `deno task eval --support S.jsonl --query Q.jsonl [--query Q2.jsonl ...] --shots 0,5,10,50 --episodes N
 * --seed S --json OUT.json [--unlabeled N] [--contamination C] [--model M.onnx] [--baseline B.onnx]`
 *
 * For each K and episode: draws K benign + K attack records from the support file (and N unlabelled ones, at
 * most a fraction C attacks), adapts each method as the worker would on the same records (`taugate`: the
 * model and its `meta.adapt`, site profile included; `erm-finetune`: the baseline backbone, same head fit,
 * profile included; `scratch-logreg`: logistic regression on the raw features of the shots and their novelty
 * against the same profile), scores every query record and reports AUC, TPR at 1e-2 and 1e-3 FPR, precision
 * and recall at the τ the worker would use (the canary-matched τ of an adapted head). `shots: 0` rows with
 * N = 0 are the unadapted models; with N > 0 they are the init with the site's profile. `--help` lists every
 * option with its default (the table is `EVAL` in `commands.ts`).
 *
 * @module
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { specId } from "@taugate/features/mod.ts";
import { checkModelSpec } from "@taugate/model/spec_check.ts";
import type { RequestRecord } from "@taugate/record/record.ts";
import { type EvalMethod, type EvalResults, evaluate, scratchLogRegMethod } from "../eval/fewshot.ts";
import { PROFILE_DEFAULT } from "../config.ts";
import { loadModel, modelMethod } from "../eval/model_io.ts";
import { formatResults } from "../eval/table.ts";
import { featurise, featuriseOverflow } from "../nn/features.ts";
import { parseCli } from "./args.ts";
import { EVAL } from "./commands.ts";
import { readJsonl } from "./records.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** The shipped model and the baseline, relative to the repository root. */
export const DEFAULT_MODEL = resolve(ROOT, "models/taugate.onnx");
export const DEFAULT_BASELINE = resolve(
  ROOT,
  "models/baselines/erm-finetune.onnx",
);

/** Options of one evaluation. */
export interface EvalRun {
  support: RequestRecord[];
  query: RequestRecord[];
  shots: number[];
  episodes: number;
  seed: number;
  unlabeled: number;
  contamination: number;
  model: string;
  baseline: string | null;
  /**
   * Also run the same model adapted the other way round, for the K × N table: `taugate-noprofile` when it
   * ships a site profile, `taugate+profile` when it does not.
   */
  profileAblation?: boolean;
}

/** What the JSON output holds. */
export interface EvalOutput extends EvalResults {
  model: Record<string, unknown>;
  options: Record<string, unknown>;
}

/** Runs an evaluation (the CLI's work, callable from training and tests). */
export function runEval(o: EvalRun): EvalOutput {
  const m = loadModel(o.model);
  checkModelSpec(m.model.meta);
  const methods: EvalMethod[] = [modelMethod("taugate", m)];
  if (o.profileAblation && m.adapt.profile) {
    methods.push(modelMethod("taugate-noprofile", m, { ...m.adapt, profile: undefined }));
  } else if (o.profileAblation) {
    // A model trained without a profile, adapted with one: novelty weights start at 0 and are fitted.
    methods.push(modelMethod("taugate+profile", m, { ...m.adapt, profile: PROFILE_DEFAULT }));
  }
  let baselineId: string | null = null;
  if (o.baseline) {
    const b = loadModel(o.baseline);
    baselineId = b.model.meta.modelId;
    methods.push(modelMethod("erm-finetune", b));
  }
  methods.push(scratchLogRegMethod(m.adapt.profile, m.adapt.values));
  const data = {
    support: featurise(o.support),
    query: featurise(o.query),
    queryFamily: o.query.map((r) => r.family ?? ""),
    queryOverflow: featuriseOverflow(o.query),
    supportOverflow: featuriseOverflow(o.support),
  };
  const results = evaluate(data, methods, o);
  const meta = m.model.meta;
  return {
    model: {
      modelId: meta.modelId,
      specId: meta.specId,
      featureSpec: specId(),
      embedDim: meta.embedDim,
      tau: meta.tau,
      quantized: m.model.quantized,
      adapt: {
        ...m.adapt,
        profile: m.adapt.profile ? "site profile (see model card)" : undefined,
      },
      baseline: baselineId,
    },
    options: {
      shots: o.shots,
      episodes: o.episodes,
      seed: o.seed,
      unlabeled: o.unlabeled,
      contamination: o.contamination,
    },
    ...results,
  };
}

/** The CLI entry: returns the exit code. */
export function main(argv: string[]): Promise<number> {
  return Promise.resolve(run(argv));
}

function run(argv: string[]): number {
  const args = parseCli(argv, EVAL);
  if (typeof args === "number") return args;
  const supportPath = args.str("support");
  const queryPaths = args.all("query");
  if (!supportPath || queryPaths.some((q) => !q)) {
    console.error("eval: --support and --query need a file (--help lists every option)");
    return 2;
  }
  const support = readJsonl(supportPath, true);
  const query: RequestRecord[] = [];
  for (const q of queryPaths) {
    const r = readJsonl(q, true);
    query.push(...r.records);
    for (const s of r.skipped) {
      console.error(`eval: ${q}:${s.line} skipped: ${s.reason}`);
    }
  }
  for (const s of support.skipped) {
    console.error(`eval: ${supportPath}:${s.line} skipped: ${s.reason}`);
  }
  const baseline = args.flag("no-baseline") ? null : args.str("baseline", DEFAULT_BASELINE);
  if (baseline && !existsSync(baseline)) {
    console.error(
      `eval: baseline ${baseline} not found (run deno task train, or pass --no-baseline)`,
    );
    return 1;
  }
  const out = runEval({
    support: support.records,
    query,
    shots: args.ints("shots"),
    episodes: args.num("episodes"),
    seed: args.num("seed"),
    unlabeled: args.num("unlabeled"),
    contamination: args.num("contamination"),
    model: args.str("model", DEFAULT_MODEL),
    baseline,
  });
  console.log(formatResults(out));
  const json = args.str("json");
  if (json) {
    mkdirSync(dirname(resolve(json)), { recursive: true });
    writeFileSync(json, JSON.stringify(out, null, 1) + "\n");
  }
  return 0;
}
