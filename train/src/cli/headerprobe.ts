/**
 * `node train/bin/run.mjs headerprobe [--folds 0] [--per 40] [--json OUT.json]`: injections where training
 * puts few of them, on real sites left out of training. For each site: its ordinary requests dressed with a
 * client context (as evaluation dresses them), and, for each placement below, `per` of them with a payload of
 * the evaluation split (`query`; sqli, xss, cmdi) put where attackers put it: in a header (after a browser's
 * whole user agent, as the whole user agent, as the whole referer, in a link of the site given as referer, raw
 * or URL-encoded, in `X-Forwarded-For`), in a query parameter (plain, the reference; as base64, its `+ / =`
 * URL-encoded; as the parameter's name), in a posted form's value, in a JSON body's string value and key, in a
 * multipart form (a part's value; a part's name) and in a SOAP call's element (XML-escaped; as CDATA; in an
 * attribute). The same number carry hard benign text in the same place, so that a placement's context (a POST,
 * an XML body) is not mistaken for evidence. Reported per placement as the median and worst site: the attacks
 * caught at the model's τ by the global head, their AUC against the site's ordinary requests, the hard benign
 * text blocked, and the attacks' AUC against it.
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
import { hardBenignValue } from "../synth/hard_benign.ts";
import { type Body, bodyOf, cdata, xmlEscape } from "../synth/request.ts";
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
  method?: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

const BOUNDARY = "----WebKitFormBoundary7MA4YWxkTrZu0gW";

/** The request becomes a POST of `body`, written as synthesis writes one. */
function post(r: Probe, body: Body): void {
  const { text, contentType } = bodyOf(body);
  r.method = "POST";
  r.headers["content-type"] = contentType;
  r.body = text;
}

/** A form posted as `multipart/form-data` (a name written as a browser writes it: `"`, CR and LF encoded). */
const multipart = (r: Probe, parts: [string, string][]) =>
  post(r, { kind: "multipart", boundary: BOUNDARY, parts: parts.map(([name, value]) => ({ name, value })) });

/** A SOAP call whose element carries `text` (already written as XML). */
function soap(r: Probe, text: string): void {
  post(r, {
    kind: "xml",
    root: "request",
    soap: "GetItem",
    contentType: "text/xml; charset=utf-8",
    fields: [{ key: "id", value: "7" }, { key: "name", value: text, encoded: true }],
  });
  r.headers["soapaction"] = '"urn:GetItem"';
}

/** A SOAP call whose element carries `text` in an attribute (`<name lang="…">`), XML-escaped, quotes too. */
function soapAttribute(r: Probe, text: string): void {
  soap(r, "Anna");
  r.body = r.body!.replace("<name>", `<name lang="${xmlEscape(text).replaceAll('"', "&quot;")}">`);
}

/**
 * Where a payload goes, the request changed in place: its headers, then a query parameter (where training
 * puts most payloads: the reference), a posted form, a JSON body, a multipart form and a SOAP call.
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
  "query parameter name": (r, p) => void (r.url += `${r.url.includes("?") ? "&" : "?"}${urlEncode(p)}=1`),
  "form value": (r, p) =>
    post(r, { kind: "form", fields: [{ key: "name", value: "Anna" }, { key: "comment", value: p }] }),
  "JSON value": (r, p) => post(r, { kind: "json", value: { productId: 7, comment: p, rating: 5 } }),
  "multipart value": (r, p) => multipart(r, [["name", "Anna"], ["comment", p]]),
  "multipart field name": (r, p) => multipart(r, [["name", "Anna"], [p, "1"]]),
  "XML element (SOAP)": (r, p) => soap(r, xmlEscape(p)),
  "XML element, CDATA": (r, p) => soap(r, cdata(p)),
  // Last, so that the placements above keep the random draws they had before these two were added.
  "JSON key": (r, p) => post(r, { kind: "json", value: { productId: 7, [p]: "1", rating: 5 } }),
  "XML attribute": (r, p) => soapAttribute(r, p),
};

/** One site's figures: per placement, the share caught at τ and the AUC. */
export interface SiteHeaders {
  id: string;
  blocked: number;
  caught: Record<string, number>;
  auc: Record<string, number>;
  /** Hard-benign text (SQL words in prose, code, URLs, tokens) in the same place: the share blocked. */
  control: Record<string, number>;
  /** AUC of the attacks against that hard-benign text in the same place. */
  aucControl: Record<string, number>;
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
      control: {},
      aucControl: {},
    };
    for (const [name, place] of Object.entries(PLACEMENTS)) {
      const placed = (text: () => string, label: 0 | 1): RequestRecord[] =>
        Array.from({ length: per }, () => {
          const base = r.pick(s.dressed);
          const probe: Probe = { method: base.method, url: base.url, headers: { ...base.headers } };
          place(probe, text(), `${s.id}.example`, new URL(base.url, "https://site.invalid").pathname);
          return { ...base, ...probe, label, family: name };
        });
      const xs = logitsOf(m.engine, m.head, placed(() => r.pick(values).text, 1));
      const cs = logitsOf(m.engine, m.head, placed(() => hardBenignValue(r).value, 0));
      row.caught[name] = xs.filter((x) => x >= tauLogit).length / xs.length;
      row.auc[name] = auc([...benign, ...xs], [...benign.map(() => 0), ...xs.map(() => 1)]);
      row.control[name] = cs.filter((x) => x >= tauLogit).length / cs.length;
      row.aucControl[name] = auc([...cs, ...xs], [...cs.map(() => 0), ...xs.map(() => 1)]);
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
  const both = (xs: number[], f: (x: number) => string, w = worst) => `${f(median(xs))} / ${f(w(xs))}`;
  console.log(
    `${"placement".padEnd(28)} ${"caught at τ".padEnd(17)} ${"AUC vs ordinary".padEnd(15)} ` +
      `${"hard-benign there blocked".padEnd(25)} AUC vs it      (each: median / worst site)`,
  );
  for (const name of Object.keys(PLACEMENTS)) {
    const col = (k: "caught" | "auc" | "control" | "aucControl") => out.map((x) => x[k][name]);
    const f3 = (x: number) => x.toFixed(3);
    console.log(
      `${name.padEnd(28)} ${both(col("caught"), pct).padEnd(17)} ${both(col("auc"), f3).padEnd(15)} ` +
        `${both(col("control"), pct, (xs) => Math.max(...xs)).padEnd(25)} ${both(col("aucControl"), f3)}`,
    );
  }
  console.log("(for hard-benign text the worst site is the highest share blocked)");
  const json = args.str("json");
  if (json) writeFileSync(json, JSON.stringify(out, null, 1) + "\n");
  return Promise.resolve(0);
}
