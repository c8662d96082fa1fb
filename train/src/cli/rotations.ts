/**
 * `node train/bin/run.mjs rotations --config C.json --data DIR --seed N --only 0,2 --out R.json`: the
 * leave-sites-out rotations of a training run, in a process of their own so that `deno task train` runs
 * them beside the shipped model's training (one per core). Internal: `pipeline.ts` starts it. `--help` lists
 * the options (the table is `ROTATIONS` in `commands.ts`).
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { RunConfig } from "../config.ts";
import { loadSources } from "../data/sources.ts";
import { loadSiteData, runRotations } from "../sites.ts";
import { buildWorld } from "../synth/world.ts";
import { parseCli } from "./args.ts";
import { ROTATIONS } from "./commands.ts";

/** The CLI entry: returns the exit code. */
export function main(argv: string[]): Promise<number> {
  const args = parseCli(argv, ROTATIONS);
  if (typeof args === "number") return Promise.resolve(args);
  const cfg = JSON.parse(readFileSync(args.str("config")!, "utf8")) as RunConfig;
  const dataDir = args.str("data")!;
  const seed = args.num("seed");
  const only = args.ints("only");
  const world = buildWorld(loadSources(dataDir), seed, cfg.world);
  const sites = loadSiteData(dataDir, cfg.siteFolds);
  const rotations = runRotations(world, sites, cfg, seed, args.flag("quiet"), cfg.siteFolds, only);
  writeFileSync(args.str("out")!, JSON.stringify(rotations));
  return Promise.resolve(0);
}
