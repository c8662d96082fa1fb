/**
 * `deno task bench [--json OUT.json]`: the cost of scoring, measured on this machine against its targets.
 *
 * ```sh
 * deno task bench [--json OUT.json] [--only features,model,middleware,overflow,adapt,throughput,coldstart,bundle]
 *   [--model models/taugate.onnx] [--quick] [--rounds 8] [--seconds 2] [--connections 16] [--cold-runs 5]
 * ```
 *
 * Sections (each figure a median or quantile over many calls after a warm-up; compared variants are
 * interleaved in one run, so machine load hits them alike; the load average is recorded with each):
 *
 * - features: extraction of the request mix (`scripts/bench/mix.ts`: browser, static, API, form and fixture
 *   requests and 20 % attacks, all under 2 KB), from a prepared `RequestView` (the extractor alone) and from
 *   a Web `Request` (the worker's path: headers, URL, body clone), and of a 1 MB request;
 * - model: one forward pass, batch 1, per engine (onnxruntime-web and the TypeScript engine);
 * - middleware: the same Hono app with taugate `off` and `block`, on the mix, half of whose tenants have an
 *   adapted head; overhead = quantile(on) − quantile(off). Model and middleware run per engine in a process
 *   of its own, as deployed (`scripts/bench/engine_child.ts`), the two engines' processes alternating;
 * - adapt: `adaptHead` for K = 10 and 50 labelled embeddings per class with their structure tokens and 1,000
 *   unlabelled requests (the site profile is built), with the model's `meta.adapt` (CPU time), and
 *   the whole fit including features and embeddings;
 * - throughput: requests/s over HTTP on 127.0.0.1 (wrk), taugate `block` ÷ `off`, same app, same mix,
 *   in short alternating rounds (8 × 2 s each): the median of the rounds' ratios, so that a burst of load
 *   from elsewhere during one round does not decide the figure;
 * - coldstart: `deno task start` from process spawn to the first scored response, per engine;
 * - bundle: `wrangler deploy --dry-run` of both builds, gzip size against the 3 MB / 10 MB limits.
 *
 * Without `models/taugate.onnx` it runs a random int8 model of the shipped shape (and says so).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DENSE_DIM, FEATURE_SPEC } from "../src/features/mod.ts";
import { loadEngine, type ScoringEngine } from "../src/model/mod.ts";
import { bundleSizes, LIMIT_FREE, LIMIT_PAID } from "./bench/bundle.ts";
import { denoColdStart } from "./bench/coldstart.ts";
import { findWrk, throughput, type ThroughputResult } from "./bench/http.ts";
import { benchAdapt, benchFeatures, benchHeadScore, benchOverflow, tenantStore } from "./bench/micro.ts";
import { HEAD_TENANT, requestSize, typicalMix } from "./bench/mix.ts";
import { benchModel as findModel } from "./bench/model.ts";
import {
  cpuSnapshot,
  loadAverage,
  loadText,
  median,
  otherCores,
  quantile,
  round,
  Samples,
} from "./bench/stats.ts";

const SECTIONS = [
  "features",
  "model",
  "middleware",
  "overflow",
  "adapt",
  "throughput",
  "coldstart",
  "bundle",
] as const;
type Section = typeof SECTIONS[number];

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    json: { type: "string" },
    only: { type: "string" },
    model: { type: "string" },
    quick: { type: "boolean", default: false },
    rounds: { type: "string", default: "8" },
    seconds: { type: "string", default: "2" },
    connections: { type: "string", default: "16" },
    "cold-runs": { type: "string", default: "5" },
  },
});
const only = new Set<Section>(
  args.only ? args.only.split(",").map((s) => s.trim() as Section) : SECTIONS,
);
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`--only: unknown section ${s}`);
const scale = args.quick ? 0.2 : 1;
const iters = (n: number) => Math.max(200, Math.round(n * scale));

const tmp = await Deno.makeTempDir({ prefix: "taugate-bench-" });
const cpuStart = cpuSnapshot();
const out: Record<string, unknown> = {};
const loads: Record<string, unknown> = {};
const log = (s: string) => console.error(s);
/** Runs a step and records the load it ran under: load averages, and the CPU other processes used. */
const measured = async (name: string, f: () => Promise<void>) => {
  const t = performance.now();
  const before = loadAverage(), cpu = cpuSnapshot();
  log(`-- ${name} (${loadText()})`);
  await f();
  const other = otherCores(cpu, cpuSnapshot());
  loads[name] = {
    load_before: before,
    load_after: loadAverage(),
    other_processes_cores: other === null ? null : round(other, 2),
    seconds: round((performance.now() - t) / 1000, 1),
  };
};
const section = (name: Section, f: () => Promise<void>) =>
  only.has(name) ? measured(name, f) : Promise.resolve();

try {
  const model = await findModel(args.model, tmp);
  const mix = typicalMix(2000);
  const kinds: Record<string, number> = {};
  for (const r of mix) kinds[r.kind] = (kinds[r.kind] ?? 0) + 1;
  out.when = new Date().toISOString();
  out.machine = {
    cpus: navigator.hardwareConcurrency,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    load_start: loadAverage(),
  };
  out.model = {
    source: model.source,
    id: model.meta.modelId,
    dims: { D: model.meta.dim, Dd: model.meta.denseDim, Z: model.meta.embedDim },
    adapt: model.adaptSource,
  };
  out.mix = {
    requests: mix.length,
    kinds,
    attacks: mix.filter((r) => r.label === 1).length,
    head_tenant_share: round(mix.filter((r) => r.host === HEAD_TENANT).length / mix.length, 2),
    bytes_p50: median(mix.map(requestSize)),
    bytes_max: Math.max(...mix.map(requestSize)),
  };
  log(
    `model: ${model.source} (${model.meta.modelId}, D=${model.meta.dim}, Dd=${DENSE_DIM}, Z=${model.meta.embedDim}); ` +
      `mix: ${mix.length} requests < 2 KB (${JSON.stringify(kinds)})`,
  );
  out.model_bytes = model.bytes.length;
  // The one engine this process embeds with (the measured engines run in processes of their own).
  let ts: ScoringEngine | undefined;
  const mainTs = async () => ts ??= await loadEngine("ts", model.bytes);

  // Model and middleware: each engine in processes of its own, alternating (see engine_child.ts).
  const perEngine: Record<
    string,
    {
      model: Samples;
      off: Samples;
      on: Samples;
      paired: Samples;
      learn: Samples;
      learnPaired: Samples;
      decisions: Record<string, number>;
    }
  > = {};
  if (only.has("model") || only.has("middleware")) {
    await measured("model+middleware", async () => {
      const rounds = 2;
      for (let r = 0; r < rounds; r++) {
        for (const kind of r % 2 === 0 ? ["ort", "ts"] : ["ts", "ort"]) {
          log(`-- engine ${kind}, round ${r + 1}/${rounds} (${loadText()})`);
          const child = await new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "-A",
              "--unstable-kv",
              new URL("./bench/engine_child.ts", import.meta.url).pathname,
              kind,
              model.path,
              String(only.has("model") ? Math.round(iters(40_000) / rounds) : 200),
              String(only.has("middleware") ? Math.round(iters(30_000) / rounds) : 200),
            ],
            stdout: "piped",
            stderr: "inherit",
          }).output();
          if (!child.success) throw new Error(`engine_child ${kind} failed`);
          const got = JSON.parse(new TextDecoder().decode(child.stdout));
          const e = perEngine[kind] ??= {
            model: new Samples(),
            off: new Samples(),
            on: new Samples(),
            paired: new Samples(),
            learn: new Samples(),
            learnPaired: new Samples(),
            decisions: {},
          };
          for (const k of ["model", "off", "on", "paired", "learn", "learnPaired"] as const) {
            for (const x of got[k]) e[k].add(x);
          }
          for (const [d, n] of Object.entries(got.decisions as Record<string, number>)) {
            e.decisions[d] = (e.decisions[d] ?? 0) + n;
          }
        }
      }
    });
  }

  await section("features", async () => {
    const r = await benchFeatures(mix, iters(40_000));
    Object.assign(out, {
      features_p50_us: round(r.view.p50, 2),
      features_p99_us: round(r.view.p99, 2),
      features_1mb_p50_us: round(r.mbView.p50, 1),
      features_request_p50_us: round(r.request.p50, 2),
      features_request_p99_us: round(r.request.p99, 2),
      features_request_1mb_p50_us: round(r.mbRequest.p50, 1),
      features_nnz_p50: r.nnzP50,
    });
  });

  if (only.has("model")) {
    out.model_p50_us = Object.fromEntries(
      Object.entries(perEngine).map(([k, e]) => [k, round(e.model.p50, 2)]),
    );
    out.model_p99_us = Object.fromEntries(
      Object.entries(perEngine).map(([k, e]) => [k, round(e.model.p99, 2)]),
    );
  }

  if (only.has("middleware")) {
    const by: Record<string, { p50: number; p99: number; [k: string]: unknown }> = {};
    for (const [name, e] of Object.entries(perEngine)) {
      by[name] = {
        p50: round(e.on.p50 - e.off.p50, 2),
        p99: round(e.on.p99 - e.off.p99, 2),
        paired_p50: round(quantile(e.paired.xs, 0.5), 2),
        off_p50: round(e.off.p50, 2),
        on_p50: round(e.on.p50, 2),
        learn_p50: round(e.learn.p50, 2),
        learn_extra_p50: round(e.learn.p50 - e.on.p50, 2),
        learn_extra_paired_p50: round(quantile(e.learnPaired.xs, 0.5), 2),
        decisions: e.decisions,
      };
    }
    Object.assign(out, {
      middleware_overhead_p50_us: by.ort.p50,
      middleware_overhead_p99_us: by.ort.p99,
      middleware_overhead_by_engine: by,
      // Learning mode's cost on the hot path (ort engine): the median of (learn on − off) for the same
      // request in interleaved blocks, the robust figure on a noisy machine (the difference of the two p50s
      // is in the table too).
      middleware_learn_extra_p50_us: by.ort.learn_extra_paired_p50,
    });
  }

  await section("overflow", async () => {
    // Requests past the feature caps: overflow views on (the default) against off, the TypeScript engine in
    // this process (an ORT view costs what an ORT request does: see model_p50_us).
    const rs = await benchOverflow(await mainTs(), iters(1000));
    out.overflow_us = Object.fromEntries(rs.map((r) => [r.name, {
      views: r.views,
      off_p50: round(r.offUs, 1),
      on_p50: round(r.onUs, 1),
      extra_paired_p50: round(r.extraUs, 1),
      decision_off: r.decisions[0],
      decision_on: r.decisions[1],
    }]));
    for (const r of rs) {
      log(
        `overflow: ${r.name}: ${r.views} views, ${round(r.offUs, 1)} → ${round(r.onUs, 1)} µs ` +
          `(+${round(r.extraUs, 1)} paired), ${r.decisions[0]} → ${r.decisions[1]}`,
      );
    }
  });

  await section("adapt", async () => {
    const rs = [];
    for (const k of [10, 50]) rs.push(await benchAdapt(await mainTs(), mix, model.adapt, k, iters(2000)));
    Object.assign(out, {
      adapt_k10_ms: round(rs[0].cpuMs, 3),
      adapt_k50_ms: round(rs[1].cpuMs, 3),
      adapt: Object.fromEntries(rs.map((r) => [`k${r.k}`, {
        cpu_ms: round(r.cpuMs, 3),
        wall_p50_ms: round(r.wallMs, 3),
        with_features_and_embedding_ms: round(r.withEmbedMs, 3),
      }])),
      adapt_config: model.adapt,
    });
    const hs = await benchHeadScore(await mainTs(), mix, model.adapt, iters(200));
    Object.assign(out, {
      head_score_us: {
        global: round(hs.globalUs, 3),
        tenant: round(hs.tenantUs, 3),
        extra: round(hs.tenantUs - hs.globalUs, 3),
        residual_weights: hs.residualWeights,
      },
    });
  });

  await section("throughput", async () => {
    const wrk = await findWrk();
    if (wrk === null) {
      log("throughput: skipped: wrk is not installed (apt-get install wrk)");
      out.throughput_ratio = null;
      out.throughput_skipped = "wrk not installed (apt-get install wrk)";
      return;
    }
    const headFile = `${tmp}/head.json`;
    const store = await tenantStore(await mainTs(), mix, model.adapt);
    await Deno.writeTextFile(headFile, JSON.stringify(await store.get(HEAD_TENANT)));
    const common = {
      wrk,
      model: model.path,
      headFile,
      mix: mix.slice(0, 500),
      rounds: Math.max(1, Math.round(Number(args.rounds) * (args.quick ? 0.34 : 1))),
      seconds: Number(args.seconds),
      connections: Number(args.connections),
      tmp,
    };
    const runs: ThroughputResult[] = [];
    for (const [app, engine] of [["min", "ort"], ["min", "ts"], ["worker", "ort"]] as const) {
      const r = await throughput({ ...common, app, engine });
      log(
        `throughput ${app}/${engine}: off ${r.off.map((x) => x.toFixed(0)).join(", ")} req/s; block ${
          r.on.map((x) => x.toFixed(0)).join(", ")
        } req/s; ratio ${r.ratio.toFixed(3)} (${loadText()})`,
      );
      runs.push(r);
    }
    const round3 = (r: ThroughputResult) => ({
      ...r,
      ratio: round(r.ratio, 3),
      ratios: r.ratios.map((x) => round(x, 3)),
      off: r.off.map((x) => Math.round(x)),
      on: r.on.map((x) => Math.round(x)),
    });
    out.throughput_ratio = round(runs[0].ratio, 3);
    out.throughput = runs.map(round3);
  });

  await section("coldstart", async () => {
    const runs: Record<string, number[]> = { ort: [], ts: [] },
      after: Record<string, number[]> = { ort: [], ts: [] };
    const n = Math.max(1, Math.round(Number(args["cold-runs"]) * (args.quick ? 0.4 : 1)));
    for (let i = 0; i < n; i++) {
      for (const engine of ["ort", "ts"] as const) {
        const r = await denoColdStart(model.path, engine, tmp);
        runs[engine].push(r.total);
        after[engine].push(r.afterReady);
      }
    }
    out.cold_start_ms = { ort: Math.round(median(runs.ort)), ts: Math.round(median(runs.ts)) };
    out.cold_start = {
      runs: Object.fromEntries(Object.entries(runs).map(([k, xs]) => [k, xs.map(Math.round)])),
      after_listening_ms: { ort: Math.round(median(after.ort)), ts: Math.round(median(after.ts)) },
    };
  });

  await section("bundle", async () => {
    const rs = await bundleSizes(model.path, tmp);
    const by = (f: (r: typeof rs[number]) => unknown) => Object.fromEntries(rs.map((r) => [r.engine, f(r)]));
    Object.assign(out, {
      bundle_gzip_bytes: by((r) => r.wranglerGzipBytes ?? r.gzipBytes),
      bundle_fits_free: by((r) => r.fitsFree),
      bundle_fits_paid: by((r) => r.fitsPaid),
      bundles: rs.map((r) => ({ ...r, files: r.files.slice(0, 5) })),
    });
  });

  (out.machine as Record<string, unknown>).load_end = loadAverage();
  const other = otherCores(cpuStart, cpuSnapshot());
  (out.machine as Record<string, unknown>).other_processes_cores = other === null ? null : round(other, 2);
  out.load_by_section = loads;
  out.targets = targets(out);
  printTable(out);
  if (args.json) {
    await Deno.writeTextFile(args.json, JSON.stringify(out, null, 2) + "\n");
    log(`wrote ${args.json}`);
  }
} finally {
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
}

interface Target {
  value: number | null;
  target: string;
  met: boolean | null;
}

/** The targets, judged on this run's figures. */
function targets(o: Record<string, unknown>): Record<string, Target> {
  const num = (v: unknown) => (typeof v === "number" ? v : null);
  const at = (k: string, sub?: string) =>
    num(sub ? (o[k] as Record<string, unknown> | undefined)?.[sub] : o[k]);
  const le = (v: number | null, t: number): Target => ({
    value: v,
    target: `≤ ${t}`,
    met: v === null ? null : v <= t,
  });
  const ge = (v: number | null, t: number): Target => ({
    value: v,
    target: `≥ ${t}`,
    met: v === null ? null : v >= t,
  });
  return {
    features_p50_us: le(at("features_p50_us"), 10),
    features_request_p50_us: le(at("features_request_p50_us"), 10),
    middleware_overhead_p50_us: le(at("middleware_overhead_p50_us"), 25),
    middleware_learn_extra_p50_us: le(at("middleware_learn_extra_p50_us"), 3),
    throughput_ratio: ge(at("throughput_ratio"), 0.4),
    cold_start_ms_ort: le(at("cold_start_ms", "ort"), 600),
    adapt_k50_ms: le(at("adapt_k50_ms"), 10),
    model_bytes: le(at("model_bytes"), 262_144),
  };
}

function printTable(o: Record<string, unknown>): void {
  const t = o.targets as Record<string, Target>;
  const rows: [string, string, string][] = [];
  const v = (x: unknown, unit = "") => (x === undefined || x === null ? "—" : `${x}${unit}`);
  const mark = (k: string) => {
    const x = t[k];
    if (!x) return "";
    return `${x.target} ${x.met === null ? "?" : x.met ? "met" : "MISSED"}`;
  };
  const eng = (k: string) => {
    const m = o[k] as Record<string, number> | undefined;
    return m ? `ort ${m.ort}, ts ${m.ts}` : "—";
  };
  const by = o.middleware_overhead_by_engine as Record<string, { p50: number; p99: number }> | undefined;
  rows.push([
    "features_p50_us / p99 (from a view)",
    `${v(o.features_p50_us)} / ${v(o.features_p99_us)}`,
    mark("features_p50_us"),
  ]);
  rows.push([
    "features from a Request p50 / p99 (worker path)",
    `${v(o.features_request_p50_us)} / ${v(o.features_request_p99_us)}`,
    mark("features_request_p50_us"),
  ]);
  rows.push([
    "features_1mb_p50_us (view / Request)",
    `${v(o.features_1mb_p50_us)} / ${v(o.features_request_1mb_p50_us)}`,
    "",
  ]);
  rows.push(["model_p50_us (batch 1)", eng("model_p50_us"), ""]);
  rows.push([
    "middleware_overhead_p50_us / p99 (ort)",
    `${v(o.middleware_overhead_p50_us)} / ${v(o.middleware_overhead_p99_us)}`,
    mark("middleware_overhead_p50_us"),
  ]);
  if (by?.ts) rows.push(["middleware overhead p50 / p99 (ts)", `${by.ts.p50} / ${by.ts.p99}`, ""]);
  const byL = by as Record<string, { learn_extra_p50: number; learn_extra_paired_p50: number }> | undefined;
  if (byL?.ort) {
    rows.push([
      "learn on − off, paired median (ort; difference of p50s)",
      `${byL.ort.learn_extra_paired_p50} (${byL.ort.learn_extra_p50})`,
      mark("middleware_learn_extra_p50_us"),
    ]);
  }
  if (byL?.ts) {
    rows.push([
      "learn on − off, paired median (ts; difference of p50s)",
      `${byL.ts.learn_extra_paired_p50} (${byL.ts.learn_extra_p50})`,
      "",
    ]);
  }
  const tp = o.throughput as ThroughputResult[] | undefined;
  rows.push(["throughput_ratio (min app, ort)", v(o.throughput_ratio), mark("throughput_ratio")]);
  for (const r of tp?.slice(1) ?? []) {
    rows.push([`throughput ratio (${r.app} app, ${r.engine})`, String(r.ratio), ""]);
  }
  rows.push(["cold_start_ms (Deno)", eng("cold_start_ms"), mark("cold_start_ms_ort")]);
  rows.push([
    "adapt_k10_ms / adapt_k50_ms (CPU)",
    `${v(o.adapt_k10_ms)} / ${v(o.adapt_k50_ms)}`,
    mark("adapt_k50_ms"),
  ]);
  const hs = o.head_score_us as { global: number; tenant: number; extra: number } | undefined;
  if (hs) {
    rows.push([
      "head scoring µs/request: global / tenant (K=50)",
      `${hs.global} / ${hs.tenant} (+${hs.extra})`,
      hs.extra <= 5 ? "≤ +5 met" : "≤ +5 MISSED",
    ]);
  }
  rows.push(["model_bytes", v(o.model_bytes), mark("model_bytes")]);
  const g = o.bundle_gzip_bytes as Record<string, number> | undefined;
  const free = o.bundle_fits_free as Record<string, boolean> | undefined;
  const paid = o.bundle_fits_paid as Record<string, boolean> | undefined;
  if (g) {
    for (const e of ["ort", "ts"]) {
      rows.push([
        `bundle_gzip_bytes (${e})`,
        String(g[e]),
        `free ${(LIMIT_FREE / 2 ** 20).toFixed(0)} MB: ${free?.[e] ? "fits" : "no"}; paid ${
          (LIMIT_PAID / 2 ** 20).toFixed(0)
        } MB: ${paid?.[e] ? "fits" : "no"}`,
      ]);
    }
  }
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length), 6));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i])).join(" | ")} |`;
  const m = o.model as { source: string; id: string };
  const machine = o.machine as { cpus: number; deno: string; load_start: number[]; load_end: number[] };
  console.log(
    `\ntaugate bench, ${o.when}: deno ${machine.deno}, ${machine.cpus} CPUs; model ${m.source} (${m.id}); ` +
      `load average at start ${machine.load_start?.join(", ")}, at end ${machine.load_end?.join(", ")}; ` +
      `feature spec D=${FEATURE_SPEC.dim}\n`,
  );
  const during = Object.entries(o.load_by_section as Record<string, { other_processes_cores: number | null }>)
    .map(([k, v]) => `${k} ${v.other_processes_cores ?? "?"}`).join(", ");
  console.log(`CPU used by other processes meanwhile, in cores (of ${machine.cpus}): ${during}\n`);
  console.log(line(["metric", "value", "target"]));
  console.log(line(w.map((n) => "-".repeat(n))));
  for (const r of rows) console.log(line(r));
}
