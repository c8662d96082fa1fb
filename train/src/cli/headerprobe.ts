/**
 * `node train/bin/run.mjs headerprobe [--folds 0] [--per 40] [--json OUT.json]`: injections carried by a
 * client's headers, on real sites left out of training. For each site: its ordinary requests dressed with a
 * client context (as evaluation dresses them), and, for each placement below, `per` of them with a payload of
 * the evaluation split (`query`; sqli, xss, cmdi) put in a header the way attackers send it: after a browser's
 * whole user agent, as the whole user agent, as the whole referer, in a link of the site given as referer
 * (raw or URL-encoded), and in `X-Forwarded-For`. Reported per placement as the median and worst site: the
 * share caught at the model's τ by the global head, and the AUC against the site's ordinary requests. The
 * same payloads in a query parameter are the reference; the last placement is the same parameter holding the
 * payload's base64 (its `+ / =` URL-encoded), as attackers send it to an application that decodes it.
 * `--help` lists every option with its default (the table is `HEADERPROBE` in `commands.ts`).
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import type { RequestRecord } from "@taugate/record/record.ts";
import { logit } from "@taugate/util/math.ts";
import { DEFAULT_RUN } from "../config.ts";
import { loadSources } from "../data/sources.ts";
import { auc, median } from "../eval/metrics.ts";
import { loadModel } from "../eval/model_io.ts";
import { loadSiteData, logitsOf, siteEvalSets } from "../sites.ts";
import { buildWorld } from "../synth/world.ts";
import { base64, minimalHeader, urlEncode } from "../synth/encode.ts";
import { Rng } from "../util/rng.ts";
import { parseCli } from "./args.ts";
import { HEADERPROBE } from "./commands.ts";
import { DEFAULT_MODEL } from "./eval.ts";

const CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36";
const FAMILIES = ["sqli", "xss", "cmdi"];

/** A request as a placement changes it. */
export interface Probe {
  url: string;
  headers: Record<string, string>;
}

/**
 * Where a payload goes: the request's headers, changed in place; the last, for reference, is the same payload
 * in a query parameter, where training puts most of them.
 */
export const PLACEMENTS: Record<string, (r: Probe, p: string, host: string, path: string) => void> = {
  "user-agent, appended": (r, p) =>
    void (r.headers["user-agent"] = `${r.headers["user-agent"] ?? CHROME} ${minimalHeader(p)}`),
  "user-agent, whole": (r, p) => void (r.headers["user-agent"] = minimalHeader(p)),
  "referer, whole": (r, p) => void (r.headers["referer"] = minimalHeader(p)),
  "referer, link (raw)": (r, p, host, path) =>
    void (r.headers["referer"] = `https://${host}${path}?q=${minimalHeader(p)}`),
  "referer, link (encoded)": (r, p, host) =>
    void (r.headers["referer"] = `https://${host}/?q=${urlEncode(p)}`),
  "x-forwarded-for": (r, p) => void (r.headers["x-forwarded-for"] = minimalHeader(p)),
  "query parameter (reference)": (r, p) =>
    void (r.url += `${r.url.includes("?") ? "&" : "?"}q=${urlEncode(p)}`),
  "query parameter, base64": (r, p) =>
    void (r.url += `${r.url.includes("?") ? "&" : "?"}q=${urlEncode(base64(p))}`),
};

/** One site's figures: per placement, the share caught at τ and the AUC. */
export interface SiteHeaders {
  id: string;
  blocked: number;
  caught: Record<string, number>;
  auc: Record<string, number>;
}

/** The CLI entry: returns the exit code. */
export function main(argv: string[]): Promise<number> {
  const args = parseCli(argv, HEADERPROBE);
  if (typeof args === "number") return Promise.resolve(args);
  const dataDir = args.str("data")!;
  const folds = args.ints("folds");
  const per = args.num("per");
  const seed = args.num("seed");
  const m = loadModel(args.str("model", DEFAULT_MODEL));
  const world = buildWorld(loadSources(dataDir), seed, DEFAULT_RUN.world);
  const values = world.pools.values.filter((v) => v.split === "query" && FAMILIES.includes(v.family));
  const sites = loadSiteData(dataDir).filter((s) => folds.includes(s.fold));
  const sets = siteEvalSets(sites, world.pools, seed, DEFAULT_RUN.world, "query", 0);
  const tauLogit = logit(m.tau);
  const out: SiteHeaders[] = [];
  for (const s of sets) {
    const r = new Rng(seed, `header-probe:${s.id}`);
    const benign = logitsOf(m.engine, m.head, s.dressed);
    const row: SiteHeaders = {
      id: s.id,
      blocked: benign.filter((x) => x >= tauLogit).length / benign.length,
      caught: {},
      auc: {},
    };
    for (const [name, place] of Object.entries(PLACEMENTS)) {
      const attacks: RequestRecord[] = Array.from({ length: per }, () => {
        const base = r.pick(s.dressed);
        const probe: Probe = { url: base.url, headers: { ...base.headers } };
        place(
          probe,
          r.pick(values).text,
          `${s.id}.example`,
          new URL(base.url, "https://site.invalid").pathname,
        );
        return { ...base, ...probe, label: 1, family: name };
      });
      const xs = logitsOf(m.engine, m.head, attacks);
      row.caught[name] = xs.filter((x) => x >= tauLogit).length / xs.length;
      row.auc[name] = auc([...benign, ...xs], [...benign.map(() => 0), ...xs.map(() => 1)]);
    }
    out.push(row);
    if (!args.flag("quiet")) console.error(JSON.stringify(row));
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const worst = (xs: number[]) => Math.min(...xs);
  console.log(
    `${out.length} sites, τ ${m.tau}; ${per} injections a placement a site (sqli, xss, cmdi; query split)`,
  );
  console.log(`ordinary requests blocked: median ${pct(median(out.map((x) => x.blocked)))}`);
  console.log(`${"placement".padEnd(28)} caught at τ (median / worst site)   AUC (median / worst site)`);
  for (const name of Object.keys(PLACEMENTS)) {
    const c = out.map((x) => x.caught[name]), a = out.map((x) => x.auc[name]);
    console.log(
      `${name.padEnd(28)} ${pct(median(c)).padStart(8)} / ${pct(worst(c)).padStart(8)}` +
        `                ${median(a).toFixed(3)} / ${worst(a).toFixed(3)}`,
    );
  }
  const json = args.str("json");
  if (json) writeFileSync(json, JSON.stringify(out, null, 1) + "\n");
  return Promise.resolve(0);
}
