/**
 * `node train/bin/run.mjs rotations [--config C.json] [--data DIR] [--seed N] [--only 0,2] [--out R.json]`:
 * the leave-sites-out rotations of a training run, in a process of their own so that `deno task train` runs
 * them beside the shipped model's training (one per core; `pipeline.ts` starts it). Run alone with another
 * seed, it prints the headline's median and worst site: how much the card's figures move with the seed.
 * `--help` lists the options (the table is `ROTATIONS` in `commands.ts`).
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { DEFAULT_RUN, type RunConfig } from "../config.ts";
import { DEFAULT_DATA_DIR, loadSources } from "../data/sources.ts";
import {
  DESIGN_FOLD,
  loadSiteData,
  type Rotation,
  runRotations,
  type SiteFigures,
  summariseFigures,
} from "../sites.ts";
import { buildWorld } from "../synth/world.ts";
import { parseCli } from "./args.ts";
import { ROTATIONS } from "./commands.ts";

/** The CLI entry: returns the exit code. */
export function main(argv: string[]): Promise<number> {
  const args = parseCli(argv, ROTATIONS);
  if (typeof args === "number") return Promise.resolve(args);
  const config = args.str("config");
  const cfg = config === undefined ? DEFAULT_RUN : JSON.parse(readFileSync(config, "utf8")) as RunConfig;
  const dataDir = args.str("data") ?? DEFAULT_DATA_DIR;
  const seed = args.num("seed");
  const only = args.ints("only");
  const world = buildWorld(loadSources(dataDir), seed, cfg.world);
  const sites = loadSiteData(dataDir, cfg.siteFolds);
  const rotations = runRotations(world, sites, cfg, seed, args.flag("quiet"), cfg.siteFolds, only);
  const out = args.str("out");
  if (out !== undefined) writeFileSync(out, JSON.stringify(rotations));
  else console.log(rotationSummary(rotations, seed));
  return Promise.resolve(0);
}

const SUMMARY_ROWS: [string, string, boolean][] = [
  ["block_logged", "block rate at τ, ordinary traffic as logged", true],
  ["block_dressed", "block rate at τ, with full browser/bot headers", true],
  ["detect_seen", "injections caught at τ, seen families", true],
  ["detect_unseen", "injections caught at τ, held-out families", true],
  ["auc", "AUC, all attacks (K = 0)", false],
  ["auc_injection", "AUC, injections (K = 0)", false],
  ["tpr_1e2", "TPR at 1e-2 FPR, all attacks", false],
  ["tpr_1e3", "TPR at 1e-3 FPR, all attacks", false],
];

/**
 * The card's headline table for the rotations run: median and worst site of the test folds other than the
 * design fold, and of the design fold apart (when it was run).
 */
export function rotationSummary(rotations: Rotation[], seed: number): string {
  const all = rotations.flatMap((r) => r.sites);
  const groups: [string, SiteFigures[]][] = [
    ["headline", all.filter((r) => r.fold !== DESIGN_FOLD)],
    [`design fold ${DESIGN_FOLD}`, all.filter((r) => r.fold === DESIGN_FOLD)],
  ];
  const cols = groups.filter(([, rows]) => rows.length > 0).map(([n, rows]) =>
    [n, summariseFigures(rows)] as const
  );
  const folds = rotations.map((r) => r.testFold).join(",");
  const cell = (v: number, pct: boolean) => pct ? `${(v * 100).toFixed(2)} %` : v.toFixed(3);
  const lines = [
    `seed ${seed}, rotations ${folds}; τ ${rotations.map((r) => r.tau).join(", ")}`,
    `| figure | ${cols.map(([n]) => `${n}: median | worst`).join(" | ")} |`,
    `| --- | ${cols.map(() => "---: | ---:").join(" | ")} |`,
  ];
  for (const [k, label, pct] of SUMMARY_ROWS) {
    lines.push(
      `| ${label} | ${
        cols.map(([, s]) => `${cell(s[k].median, pct)} | ${cell(s[k].worst, pct)}`).join(" | ")
      } |`,
    );
  }
  return lines.join("\n");
}
