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
import { headlineTable } from "../export/sites_card.ts";
import { loadSiteData, type Rotation, runRotations } from "../sites.ts";
import { buildWorld } from "../synth/world.ts";
import { pickCanaries } from "../export/canary.ts";
import { canaryRecord } from "../pipeline.ts";
import { parseCli } from "./args.ts";
import { ROTATIONS } from "./commands.ts";

/** The CLI entry: returns the exit code. */
export function main(argv: string[]): Promise<number> {
  const args = parseCli(argv, ROTATIONS);
  if (typeof args === "number") return Promise.resolve(args);
  const config = args.str("config");
  const cfg = config === undefined ? DEFAULT_RUN : JSON.parse(readFileSync(config, "utf8")) as RunConfig;
  if (args.flag("print-config")) {
    console.log(JSON.stringify(cfg, null, 1));
    return Promise.resolve(0);
  }
  const dataDir = args.str("data") ?? DEFAULT_DATA_DIR;
  const seed = args.num("seed");
  const only = args.ints("only");
  const world = buildWorld(loadSources(dataDir), seed, cfg.world);
  const sites = loadSiteData(dataDir, cfg.siteFolds);
  const saveDir = args.str("save");
  const save = saveDir === undefined ? undefined : {
    dir: saveDir,
    canaries: pickCanaries(world.train.flatMap((t) => t.attacks), cfg.canariesPerFamily, seed).map(
      canaryRecord,
    ),
  };
  const rotations = runRotations(world, sites, cfg, seed, args.flag("quiet"), cfg.siteFolds, only, save);
  const out = args.str("out");
  if (out !== undefined) writeFileSync(out, JSON.stringify(rotations));
  else console.log(rotationSummary(rotations, seed));
  return Promise.resolve(0);
}

/** The card's headline table for the rotations run, under a line naming the seed, rotations and τ. */
export function rotationSummary(rotations: Rotation[], seed: number): string {
  const folds = rotations.map((r) => r.testFold).join(",");
  return [
    `seed ${seed}, rotations ${folds}; τ ${rotations.map((r) => r.tau).join(", ")}`,
    ...headlineTable(rotations),
  ]
    .join("\n");
}
