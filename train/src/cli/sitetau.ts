/**
 * `node train/bin/run.mjs sitetau [--folds 0] [--model M] [--target 0.05,0.3] [--json OUT.json]`: detection on
 * real sites at the model's τ, and at the τ the rule that chose it would choose on those sites themselves
 * (an oracle). Run with a rotation's model on its own test fold, the difference is what τ's transfer from the
 * calibration fold costs, apart from the ranking. `--help` lists the options (`SITETAU` in `commands.ts`).
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import type { Split } from "../data/pools.ts";
import { loadSources } from "../data/sources.ts";
import { DEFAULT_RUN } from "../config.ts";
import { loadModel } from "../eval/model_io.ts";
import {
  chooseTau,
  loadSiteData,
  siteEvalSets,
  type SiteFigures,
  siteFigures,
  type SiteLogits,
  siteLogits,
  summariseFigures,
  worseBlock,
} from "../sites.ts";
import { buildWorld } from "../synth/world.ts";
import { parseCli } from "./args.ts";
import { SITETAU } from "./commands.ts";
import { DEFAULT_MODEL } from "./eval.ts";

/** The figures of a set of sites at one τ. */
export interface TauRow {
  how: "model" | "own";
  tau: number;
  /** Block rate of ordinary traffic (the higher of as logged and dressed, per site): median and worst site. */
  median: number;
  worst: number;
  /** Injections caught, median site: seen families, held-out families; anomalies. */
  seen: number;
  unseen: number;
  anomaly: number;
}

/** The model's scores are calibrated already: the identity calibration. */
const IDENTITY = { a: 1, c: 0 };

/**
 * The figures at the model's τ and at the τ `chooseTau` picks on these sites with `target` (the oracle),
 * from the calibrated head's logits.
 *
 * @param logits Per-site logits of the calibrated global head.
 * @param tau The model's τ.
 * @param target The rule's block-rate targets (shares, not percent).
 * @param folds Each site's fold, for the per-site figures (-1 for a site it does not list).
 * @returns The two rows, whether the oracle met the worst-site target, and the per-site figures at each τ.
 */
export function tauTransfer(
  logits: SiteLogits[],
  tau: number,
  target: { median: number; worst: number },
  folds: Map<string, number> = new Map(),
): { rows: TauRow[]; worstMet: boolean; sites: SiteFigures[][] } {
  const sites: SiteFigures[][] = [];
  const at = (how: TauRow["how"], t: number): TauRow => {
    const fig = siteFigures(logits, folds, IDENTITY, t);
    sites.push(fig);
    const s = summariseFigures(fig), block = worseBlock(fig);
    return {
      how,
      tau: t,
      median: block.median,
      worst: block.worst,
      seen: s.detect_seen.median,
      unseen: s.detect_unseen.median,
      anomaly: s.detect_anomaly.median,
    };
  };
  const own = chooseTau(logits, IDENTITY, target);
  return { rows: [at("model", tau), at("own", own.tau)], worstMet: own.worstMet, sites };
}

const pct = (x: number, d = 2) => `${(x * 100).toFixed(d)} %`;

/** The CLI entry: returns the exit code. */
export function main(argv: string[]): Promise<number> {
  const args = parseCli(argv, SITETAU);
  if (typeof args === "number") return Promise.resolve(args);
  const target = args.str("target")!.split(",").map(Number);
  if (target.length !== 2 || !target.every((x) => x > 0 && x < 100)) {
    console.error("sitetau: --target takes two percentages in (0, 100), the median site's and the worst's");
    return Promise.resolve(2);
  }
  const dataDir = args.str("data")!;
  const folds = args.ints("folds");
  const seed = args.num("seed");
  const split = args.str("split") as Split;
  const modelPath = args.str("model", DEFAULT_MODEL);
  const m = loadModel(modelPath);
  const world = buildWorld(loadSources(dataDir), seed, DEFAULT_RUN.world);
  const sites = loadSiteData(dataDir).filter((s) => folds.includes(s.fold));
  const sets = siteEvalSets(sites, world.pools, seed, DEFAULT_RUN.world, split, DEFAULT_RUN.siteAttacks);
  if (sets.length === 0) {
    console.error(`sitetau: no real site in folds ${folds.join(",")} of ${dataDir}`);
    return Promise.resolve(2);
  }
  const t = { median: target[0] / 100, worst: target[1] / 100 };
  const r = tauTransfer(
    siteLogits(m.engine, m.head, sets),
    m.tau,
    t,
    new Map(sites.map((s) => [s.id, s.fold])),
  );
  const label = {
    model: "the model's τ",
    own: `chosen on these sites (median ≤ ${target[0]} %, worst ≤ ${target[1]} %${
      r.worstMet ? "" : ": worst not met"
    }): an oracle, not a deployable τ`,
  };
  console.log(
    [
      `${modelPath} on folds ${folds.join(",")} (${sets.length} sites), ${split} attacks, seed ${seed}`,
      "| τ | which | ordinary blocked: median / worst site | seen families caught | held-out caught | anomalies caught |",
      "| ---: | --- | ---: | ---: | ---: | ---: |",
      ...r.rows.map((x) =>
        `| ${x.tau} | ${label[x.how]} | ${pct(x.median)} / ${pct(x.worst)} | ${pct(x.seen, 1)} | ${
          pct(x.unseen, 1)
        } | ${pct(x.anomaly, 1)} |`
      ),
    ].join("\n"),
  );
  const json = args.str("json");
  if (json) {
    writeFileSync(
      json,
      JSON.stringify({ model: modelPath, folds, split, seed, target: t, ...r }) + "\n",
    );
  }
  return Promise.resolve(0);
}
