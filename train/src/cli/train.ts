/**
 * `deno task train [--data DIR] [--seed N] [--quick] [--updates N] [--out DIR] [--artifacts DIR] [--ablate]
 * [--card]`
 *
 * Runs training end to end (see `pipeline.ts`) with the shipped configuration on `../shared/data`, or the
 * ablation study (`--ablate`, writes `models/ablations.json`, which the card then includes), or only rewrites
 * the card from the last run's `artifacts/run-summary.json` and the current ablations (`--card`).
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runAblations } from "../ablate.ts";
import { DEFAULT_RUN, QUICK_RUN, type RunConfig } from "../config.ts";
import { DEFAULT_DATA_DIR } from "../data/sources.ts";
import { writeCard } from "../export/card.ts";
import { runTraining } from "../pipeline.ts";
import { Args } from "./args.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The CLI entry: returns the exit code. */
export function main(argv: string[]): Promise<number> {
  return run(argv);
}

async function run(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = new Args(argv, [
      "data",
      "seed",
      "updates",
      "out",
      "artifacts",
      "episodes",
    ], ["quick", "ablate", "quiet", "card"]);
  } catch (e) {
    console.error(`train: ${(e as Error).message}`);
    console.error(
      "usage: deno task train [--data DIR] [--seed N] [--quick] [--updates N] [--ablate]",
    );
    return 2;
  }
  const base: RunConfig = args.flag("quick") ? QUICK_RUN : DEFAULT_RUN;
  const cfg: RunConfig = {
    ...base,
    train: { ...base.train, updates: args.num("updates", base.train.updates) },
    eval: { ...base.eval, episodes: args.num("episodes", base.eval.episodes) },
  };
  const paths = {
    dataDir: args.str("data") ? resolve(args.str("data")!) : DEFAULT_DATA_DIR,
    outDir: resolve(args.str("out", resolve(ROOT, "models"))),
    artifactsDir: resolve(args.str("artifacts", resolve(ROOT, "artifacts"))),
  };
  const seed = args.num("seed", 1);
  const started = performance.now();
  if (args.flag("card")) {
    // Rewrites the card from the last run's summary and the current ablations (no training).
    const summary = JSON.parse(readFileSync(join(paths.artifactsDir, "run-summary.json"), "utf8"));
    const ablations = join(paths.outDir, "ablations.json");
    writeCard(
      paths.outDir,
      summary,
      existsSync(ablations) ? JSON.parse(readFileSync(ablations, "utf8")) : null,
    );
    return 0;
  }
  if (args.flag("ablate")) {
    runAblations(paths, cfg, seed, args.flag("quiet"));
  } else await runTraining(paths, cfg, seed, args.flag("quiet"));
  console.error(
    `[train] finished in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  return 0;
}
