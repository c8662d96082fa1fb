/**
 * `deno task train [--data DIR] [--records FILE[:LABEL]]... [--seed N] [--quick] [--updates N] [--episodes N]
 * [--out DIR] [--artifacts DIR] [--ablate] [--card] [--quiet]` (`--help` lists them with their defaults; the
 * table is `TRAIN` in `commands.ts`).
 *
 * Runs training end to end (see `pipeline.ts`) with the shipped configuration on `../shared/data`, or the
 * ablation study (`--ablate`, writes `models/ablations.json`, which the card then includes), or only rewrites
 * the card from the last run's `artifacts/run-summary.json` and the current ablations (`--card`). `--records`
 * adds a user's own labelled records (JSONL, HAR, raw HTTP, access logs) to meta-training as tenants of their
 * own (see `data/user_records.ts`); they are read and checked before anything else, so that a bad file fails
 * at once, not after minutes of import.
 *
 * @module
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runAblations } from "../ablate.ts";
import { DEFAULT_RUN, QUICK_RUN, type RunConfig } from "../config.ts";
import { DEFAULT_DATA_DIR } from "../data/sources.ts";
import {
  loadUserRecords,
  parseRecordsArg,
  RecordsError,
  type UserSource,
  userTenants,
} from "../data/user_records.ts";
import { writeCard } from "../export/card.ts";
import { runTraining } from "../pipeline.ts";
import { parseCli } from "./args.ts";
import { TRAIN } from "./commands.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The CLI entry: returns the exit code. */
export function main(argv: string[]): Promise<number> {
  return run(argv);
}

async function run(argv: string[]): Promise<number> {
  const args = parseCli(argv, TRAIN);
  if (typeof args === "number") return args;
  const dataArg = args.str("data");
  if (dataArg !== undefined && existsSync(dataArg) && !statSync(dataArg).isDirectory()) {
    console.error(
      `train: --data takes the public corpus folder, and ${dataArg} is a file: give your own records with ` +
        `--records ${dataArg}:0 (benign) or :1 (attack)`,
    );
    return 2;
  }
  const recordArgs = args.all("records");
  const alone = ["card", "ablate"].find((f) => args.flag(f));
  if (recordArgs.length > 0 && alone) {
    console.error(`train: --records adds to the shipped model's training: it does nothing with --${alone}`);
    return 2;
  }
  let records: UserSource[] = [];
  try {
    records = loadUserRecords(recordArgs.map(parseRecordsArg));
    for (const t of userTenants(records)) {
      if (args.flag("quiet")) break;
      console.error(
        `[records] tenant "${t.id}": ${t.benign.length} benign, ${t.attacks.length} attack records ` +
          `(${t.files.join(", ")})`,
      );
    }
  } catch (e) {
    if (!(e instanceof RecordsError)) throw e;
    console.error(`train: ${e.message}`);
    return 1;
  }
  const base: RunConfig = args.flag("quick") ? QUICK_RUN : DEFAULT_RUN;
  const cfg: RunConfig = {
    ...base,
    train: { ...base.train, updates: args.num("updates", base.train.updates) },
    eval: { ...base.eval, episodes: args.num("episodes", base.eval.episodes) },
  };
  const paths = {
    dataDir: dataArg ? resolve(dataArg) : DEFAULT_DATA_DIR,
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
  } else await runTraining(paths, cfg, seed, args.flag("quiet"), records);
  console.error(
    `[train] finished in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  return 0;
}
