/**
 * `node train/bin/run.mjs sitetop [--folds 0] [--min 0.9] [--explain N] [--json OUT.json]`: the ordinary
 * requests of real sites that the model's global head scores highest, each with its site, how many times it
 * was logged and (with `--explain`) the inputs that contribute most to its logit, as the tenant API's dry run
 * explains a score (`explainLogit`). The requests are the sites' ordinary traffic as logged (method, target,
 * user agent, referer), after the documented scanner filter: what the block-rate figures count. This is where a
 * feature spec's design starts (spec v5's four extractor faults were found with it, on fold 0): run it on the
 * design fold, never on a test fold. `--help` lists every option with its default (the table is `SITETOP` in
 * `commands.ts`).
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { type Contribution, explainLogit } from "@taugate/api/explain.ts";
import { FEATURE_SPEC, featuresOfRecord, type FeatureTrace } from "@taugate/features/mod.ts";
import type { RequestRecord } from "@taugate/record/record.ts";
import { logit, sigmoid } from "@taugate/util/math.ts";
import { loadModel } from "../eval/model_io.ts";
import { loadSiteData, logitsOf } from "../sites.ts";
import { loggedRecord } from "../synth/world.ts";
import { parseCli } from "./args.ts";
import { SITETOP } from "./commands.ts";
import { DEFAULT_MODEL } from "./eval.ts";

/** One distinct request at or above the listed score. */
export interface TopRequest {
  site: string;
  score: number;
  /** How many times the site logged it (same method, target, user agent and referer). */
  count: number;
  method: string;
  url: string;
  userAgent?: string;
  referer?: string;
  /** The largest contributions to its logit, when asked for. */
  why?: Contribution[];
}

/** The key of a logged request: what scoring reads of it. */
function keyOf(r: RequestRecord): string {
  return JSON.stringify([r.method, r.url, r.headers?.["user-agent"] ?? "", r.headers?.["referer"] ?? ""]);
}

/** The CLI entry: returns the exit code. */
export function main(argv: string[]): Promise<number> {
  const args = parseCli(argv, SITETOP);
  if (typeof args === "number") return Promise.resolve(args);
  const dataDir = args.str("data")!;
  const folds = args.ints("folds");
  const min = args.num("min");
  const explain = Math.max(0, Math.floor(args.num("explain")));
  if (!(min > 0 && min < 1)) {
    console.error("sitetop: --min must be a score in (0, 1)");
    return Promise.resolve(2);
  }
  const m = loadModel(args.str("model", DEFAULT_MODEL));
  const minLogit = logit(min);
  const sites = loadSiteData(dataDir).filter((s) => folds.includes(s.fold));
  const top: TopRequest[] = [];
  let total = 0;
  for (const s of sites) {
    // The requests as logged: what `siteEvalSet` scores for the block rate (no client context added).
    const logged = s.ordinary.map((x) => loggedRecord(x, s.id));
    total += logged.length;
    const counts = new Map<string, { rec: RequestRecord; n: number; logit: number }>();
    const logits = logitsOf(m.engine, m.head, logged);
    logged.forEach((r, i) => {
      if (logits[i] < minLogit) return;
      const k = keyOf(r);
      const c = counts.get(k);
      if (c) c.n++;
      else counts.set(k, { rec: r, n: 1, logit: logits[i] });
    });
    for (const { rec, n, logit: l } of counts.values()) {
      const row: TopRequest = {
        site: s.id,
        score: sigmoid(l),
        count: n,
        method: rec.method,
        url: rec.url,
        ...(rec.headers?.["user-agent"] ? { userAgent: rec.headers["user-agent"] } : {}),
        ...(rec.headers?.["referer"] ? { referer: rec.headers["referer"] } : {}),
      };
      if (explain > 0) {
        const trace: FeatureTrace = new Map();
        const f = featuresOfRecord(rec, FEATURE_SPEC, trace);
        row.why = explainLogit(m.engine.weights, m.head, f, trace, explain).top;
      }
      top.push(row);
    }
  }
  top.sort((a, b) => b.score - a.score || (a.site < b.site ? -1 : a.site > b.site ? 1 : 0));
  const cut = (
    t: string | undefined,
    n: number,
  ) => (t === undefined ? "-" : t.length > n ? t.slice(0, n) + "…" : t);
  for (const r of top) {
    console.log(
      `${r.score.toFixed(4)}  ${r.site}  ×${r.count}  ${r.method} ${cut(r.url, 120)}  ua: ${
        cut(r.userAgent, 60)
      }  ` +
        `referer: ${cut(r.referer, 80)}`,
    );
    for (const c of r.why ?? []) {
      console.log(`    ${c.contribution >= 0 ? "+" : ""}${c.contribution.toFixed(3)}  ${c.feature}`);
    }
  }
  const logged = top.reduce((t, r) => t + r.count, 0);
  console.log(
    `${sites.length} sites, ${total} ordinary requests: ${logged} score at least ${min} ` +
      `(${top.length} distinct), τ ${m.tau}`,
  );
  const json = args.str("json");
  if (json) writeFileSync(json, JSON.stringify({ min, tau: m.tau, total, top }, null, 1) + "\n");
  return Promise.resolve(0);
}
