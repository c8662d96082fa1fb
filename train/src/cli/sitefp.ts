/**
 * `node train/bin/run.mjs sitefp [--folds 0] [--quantile 0.98] [--max 50] [--json OUT.json]`: the false-positive
 * story on real sites left out of training. For each site: its ordinary requests (dressed with a client
 * context) cut in two halves by a seeded shuffle, and attacks implanted into its own requests (held-out
 * payload split). The site's τ is the worker's, or, where the global head flags under 2 % of the first half
 * there, the score at the `quantile` of that half (so that every site has false positives to correct). The
 * first half's requests flagged at τ (at most `max`) are uploaded labelled benign, and the head is adapted
 * exactly as the tenant API adapts it (`adaptHead` with the model's `meta.adapt`, the canaries as anchors, τ
 * carried through the head's scale). Reported per site and as median and worst over sites: the share of the
 * uploaded requests still flagged, the block rate of the other half (never uploaded) and the attacks' detection,
 * before and after. `--help` lists every option with its default (the table is `SITEFP` in `commands.ts`).
 *
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RequestRecord } from "@taugate/record/record.ts";
import { adaptHead, type HeadExample, residualTau } from "@taugate/heads/adapt.ts";
import { scoreWithHead, viewOf } from "@taugate/heads/score.ts";
import { contrastRecords } from "@taugate/heads/contrast.ts";
import { DEFAULT_RUN } from "../config.ts";
import { loadSources } from "../data/sources.ts";
import { median } from "../eval/metrics.ts";
import { embedWithEngine, loadModel } from "../eval/model_io.ts";
import { type FeatureSet, featurise, featuriseOverflow, rowFeatures, rowStructure } from "../nn/features.ts";
import { loadSiteData, siteEvalSets } from "../sites.ts";
import { buildWorld } from "../synth/world.ts";
import { Rng } from "../util/rng.ts";
import { parseCli } from "./args.ts";
import { SITEFP } from "./commands.ts";
import { DEFAULT_MODEL } from "./eval.ts";

/** One site's figures. */
export interface SiteFp {
  id: string;
  tau: number;
  uploaded: number;
  /** Share of the uploaded requests flagged, before and after. */
  fpFlagged: [number, number];
  /** Block rate of the other half of the site's ordinary requests. */
  otherBlocked: [number, number];
  /** Share of the implanted attacks flagged. */
  attacksCaught: [number, number];
  /** Implanted attacks flagged before and not after (absent in files of earlier versions). */
  attacksLost?: number;
}

/** The CLI entry: returns the exit code. */
export function main(argv: string[]): Promise<number> {
  const args = parseCli(argv, SITEFP);
  if (typeof args === "number") return Promise.resolve(args);
  const from = args.str("from");
  if (from) {
    // A summary of earlier runs' files (leave-sites-out: one run per rotation, each with its own model).
    const rows = from.split(",").filter((f) => f !== "").flatMap((f) =>
      JSON.parse(readFileSync(f, "utf8")) as SiteFp[]
    );
    summarise(rows);
    return Promise.resolve(0);
  }
  const showLost = args.flag("lost");
  const dataDir = args.str("data")!;
  const folds = args.ints("folds");
  const quantile = args.num("quantile");
  const max = args.num("max");
  const noContrasts = args.flag("no-contrasts");
  const seed = args.num("seed");
  const m = loadModel(args.str("model", DEFAULT_MODEL));
  // Residual settings to try (`TG_RESIDUAL`, JSON), over the model's.
  if (process.env.TG_RESIDUAL) {
    m.adapt = {
      ...m.adapt,
      residual: {
        ...m.adapt.residual!,
        ...JSON.parse(process.env.TG_RESIDUAL),
      },
    };
  }
  const world = buildWorld(loadSources(dataDir), seed, DEFAULT_RUN.world);
  const only = args.str("site"), emit = args.str("emit");
  const sites = loadSiteData(dataDir).filter((s) => folds.includes(s.fold) && (!only || s.id === only));
  const sets = siteEvalSets(
    sites,
    world.pools,
    seed,
    DEFAULT_RUN.world,
    "query",
    400,
  );
  const Z = m.head.w.length;
  const out: SiteFp[] = [];
  for (const s of sets) {
    const r = new Rng(seed, `site-fp:${s.id}`);
    const ordinary = r.shuffle([...s.dressed]);
    const half = Math.floor(ordinary.length / 2);
    // Each set with its records' views (overflow and value views, `featuriseOverflow`), embedded: a
    // request's score is the highest of its own and its views', as the worker scores it.
    const withViews = (records: readonly RequestRecord[]) => {
      const set = featurise(records);
      const ov = featuriseOverflow(records, undefined, set);
      return {
        set,
        z: embedWithEngine(m.engine, set),
        ov,
        zov: ov === null ? null : embedWithEngine(m.engine, ov.set),
      };
    };
    type Scored = ReturnType<typeof withViews>;
    const A = withViews(ordinary.slice(0, half)),
      B = withViews(ordinary.slice(half));
    const X = withViews(s.attacks);
    const zA = A.z;
    const one = (
      head: typeof m.head,
      set: FeatureSet,
      zs: Float32Array,
      i: number,
      parentSet?: FeatureSet,
      parent?: number,
    ) =>
      scoreWithHead(
        head,
        zs.subarray(i * Z, (i + 1) * Z),
        rowStructure(set, i),
        undefined,
        // A view is judged with its request by a correction's shape (`ofShape`).
        parentSet === undefined
          ? rowFeatures(set, i)
          : viewOf(rowFeatures(set, i), rowFeatures(parentSet, parent!)),
      );
    const scores = (head: typeof m.head, d: Scored) => {
      const out = Array.from(
        { length: d.set.n },
        (_, i) => one(head, d.set, d.z, i),
      );
      if (d.ov !== null) {
        for (let j = 0; j < d.ov.set.n; j++) {
          const p = d.ov.parent[j];
          out[p] = Math.max(out[p], one(head, d.ov.set, d.zov!, j, d.set, p));
        }
      }
      return out;
    };
    const sA = scores(m.head, A);
    let tau = m.tau;
    if (sA.filter((x) => x >= tau).length < 0.02 * A.set.n) {
      tau = [...sA].sort((a, b) => a - b)[Math.floor(quantile * (A.set.n - 1))];
    }
    const fps = sA.map((x, i) => [x, i] as const).filter(([x]) => x >= tau)
      .slice(0, max).map(([, i]) => i);
    const examples: HeadExample[] = fps.map((i) => ({
      z: zA.slice(i * Z, (i + 1) * Z),
      label: 0,
      structure: rowStructure(A.set, i),
      features: rowFeatures(A.set, i),
    }));
    // Their views, fitted as benign rows too, as the tenant API's fit adds them (`fitTenantHead`).
    const uploaded = new Set(fps);
    if (A.ov !== null) {
      for (let j = 0; j < A.ov.set.n; j++) {
        if (!uploaded.has(A.ov.parent[j])) continue;
        examples.push({
          z: A.zov!.slice(j * Z, (j + 1) * Z),
          label: 0,
          structure: rowStructure(A.ov.set, j),
          features: rowFeatures(A.ov.set, j),
        });
      }
    }
    const cset = featurise(contrastRecords(fps.map((i) => ordinary[i])));
    const zc = embedWithEngine(m.engine, cset);
    const contrasts = Array.from({ length: cset.n }, (_, i) => ({
      z: zc.slice(i * Z, (i + 1) * Z),
      features: rowFeatures(cset, i),
    }));
    const { head, trust } = adaptHead(m.head, examples, m.adapt, {
      anchors: m.anchors,
      tau,
      contrasts: noContrasts ? [] : contrasts,
    });
    const tauAfter = trust ? residualTau(trust, tau) : tau;
    const rate = (xs: number[], t: number) =>
      xs.length === 0 ? 0 : xs.filter((x) => x >= t).length / xs.length;
    const sA2 = scores(head, A);
    const sX = scores(m.head, X), sX2 = scores(head, X);
    const lost = sX.flatMap((x, i) => x >= tau && sX2[i] < tauAfter ? [i] : []);
    const row: SiteFp = {
      id: s.id,
      tau,
      uploaded: fps.length,
      fpFlagged: [
        rate(fps.map((i) => sA[i]), tau),
        rate(fps.map((i) => sA2[i]), tauAfter),
      ],
      otherBlocked: [
        rate(scores(m.head, B), tau),
        rate(scores(head, B), tauAfter),
      ],
      attacksCaught: [rate(sX, tau), rate(sX2, tauAfter)],
      attacksLost: lost.length,
    };
    out.push(row);
    console.error(JSON.stringify(row));
    if (showLost) {
      // Each attack the correction lost, and the uploaded requests of its endpoint (method and path shape).
      const line = (r: RequestRecord) => `${r.method} ${r.url}${r.body ? ` [body ${r.body.length} B]` : ""}`;
      for (const i of lost) {
        const a = s.attacks[i], ep = rowFeatures(X.set, i).params?.[0];
        console.log(
          `lost on ${s.id}: ${a.family ?? "attack"}, ${sX[i].toFixed(4)} → ${sX2[i].toFixed(4)} (τ ${
            tau.toFixed(4)
          } → ${tauAfter.toFixed(4)}): ${line(a)}`,
        );
        for (const j of fps) {
          if (rowFeatures(A.set, j).params?.[0] === ep) {
            console.log(`  uploaded: ${line(ordinary[j])}`);
          }
        }
      }
    }
    if (emit) {
      const dir = join(emit, s.id);
      mkdirSync(dir, { recursive: true });
      const jsonl = (recs: readonly RequestRecord[]) => recs.map((x) => JSON.stringify(x) + "\n").join("");
      const clean = (x: RequestRecord): RequestRecord => ({
        ...x,
        label: undefined,
        family: undefined,
      });
      writeFileSync(
        join(dir, "upload.jsonl"),
        jsonl(fps.map((i) => clean(ordinary[i]))),
      );
      writeFileSync(
        join(dir, "other.jsonl"),
        jsonl(ordinary.slice(half).map((x) => ({ ...x, label: 0 }))),
      );
      writeFileSync(
        join(dir, "attacks.jsonl"),
        jsonl(s.attacks.map((x) => ({ ...x, label: 1 }))),
      );
      writeFileSync(join(dir, "tau.json"), JSON.stringify({ tau, row }) + "\n");
    }
  }
  summarise(out);
  const json = args.str("json");
  if (json) writeFileSync(json, JSON.stringify(out, null, 1) + "\n");
  return Promise.resolve(0);
}

/** Prints the median and extremes over sites of a run's (or several runs') rows. */
function summarise(out: readonly SiteFp[]): void {
  const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
  const line = (name: string, f: (r: SiteFp) => [number, number]) => {
    const d = out.map((r) => f(r)[1] - f(r)[0]);
    return `${name.padEnd(34)} before ${pct(median(out.map((r) => f(r)[0])))}  after ${
      pct(median(out.map((r) => f(r)[1])))
    }` +
      `  change: median ${pct(median(d))}, largest rise ${pct(Math.max(...d))}, largest fall ${
        pct(Math.min(...d))
      }`;
  };
  console.log(
    `${out.length} sites; ${out.reduce((t, r) => t + r.uploaded, 0)} false positives uploaded as benign`,
  );
  console.log(line("uploaded false positives flagged", (r) => r.fpFlagged));
  console.log(line("other ordinary requests blocked", (r) => r.otherBlocked));
  console.log(line("implanted attacks caught", (r) => r.attacksCaught));
  // Issue 12 asks that a site's attacks keep their detection within 0.2 points.
  const falls = out.map((r) => r.attacksCaught[0] - r.attacksCaught[1]);
  const withLost = out.filter((r) => r.attacksLost !== undefined);
  console.log(
    `sites whose attacks fall more than 0.2 points: ${
      falls.filter((f) => f > 0.002 + 1e-12).length
    } of ${out.length}` +
      (withLost.length === out.length
        ? `; sites losing an attack: ${withLost.filter((r) => r.attacksLost! > 0).length}`
        : ""),
  );
}
