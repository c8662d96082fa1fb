/**
 * How long a tenant's head takes to fit, for K = 10 and K = 50 labelled requests per class (the eval's K):
 * `adaptHead` alone (the function `deno task eval` adapts with), the API's whole fit (features, embeddings,
 * `adaptHead`), the guard, and a whole upload through the tenant API in this process (body parsing, records,
 * fit, guard, store). A measurement, not a test: the machine is shared, so read medians, not single runs.
 *
 * ```sh
 * tools/node_modules/.bin/deno run -A scripts/adapt_timing.ts [--model models/taugate.onnx] [--engine ts|ort]
 *   [--runs 200] [--records requests.jsonl] [--json OUT.json]
 * ```
 *
 * Times are `performance.now()` around synchronous work (the median of runs) and `process.cpuUsage()` over all
 * runs divided by the runs (CPU time of the whole process, so it includes the garbage collector's threads).
 * Neither Deno nor workerd has a per-request CPU timer; Cloudflare bills the request's CPU time, which the
 * synchronous part approximates. Without `models/taugate.onnx` it uses the tenant API tests' model (and says
 * so).
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { apiConfigFromEnv } from "../src/api/config.ts";
import { candidateHead } from "../src/api/candidate.ts";
import { adaptConfigOf, canaryEmbeddings } from "../src/api/model.ts";
import { featuresOfRecord } from "../src/features/mod.ts";
import { adaptHead, type HeadExample } from "../src/heads/adapt.ts";
import { loadEngine, type ScoringEngine } from "../src/model/mod.ts";
import { denoOrtWasm } from "../src/model/ort_deno.ts";
import type { RequestRecord } from "../src/record/record.ts";
import { parseRecord } from "../src/record/schema.ts";
import { MemoryTenantStore } from "../src/store/mod.ts";
import { createWorkerApp } from "../src/worker/app.ts";
import { workerConfigFromEnv } from "../src/worker/config.ts";

/** The standalone worker with the tenant API on (guard margin 1: timing, not judging) and its operator token. */
function timingApp(engine: ScoringEngine) {
  const admin = "timing-operator-token-0123456789abcdef";
  const env = { TAUGATE_ADMIN_TOKEN: admin, TAUGATE_GUARD_MARGIN: "1" };
  const app = createWorkerApp({
    config: workerConfigFromEnv(env),
    engine,
    logSink: () => {},
    api: { config: apiConfigFromEnv(env)!, store: new MemoryTenantStore() },
  });
  return { app, admin };
}

/** One K's figures, in ms. */
export interface AdaptTiming {
  /** Labelled requests per class (2K in all). */
  k: number;
  adaptHead: { wallMs: number; cpuMs: number };
  /**
   * `wallMs`: features + embeddings + `adaptHead`, as the API runs them (`candidateHead`); `cpuMs`: process
   * CPU of the whole `candidateHead` (fit, τ and guard).
   */
  fit: { wallMs: number; cpuMs: number };
  /** τ matched on the canaries, the out-of-fold scores (5 more fits) and the guard's checks. */
  guard: { wallMs: number };
  /** A whole upload request, in process (memory store). */
  upload: { wallMs: number; cpuMs: number };
  steps: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const cpuMs = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
};
const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Times adaptation for each K.
 *
 * @param engine The engine (its `meta.adapt` and canaries are used).
 * @param benign Benign records to draw from (cycled when fewer than K).
 * @param attacks Attack records to draw from.
 * @param ks The K values (per class).
 * @param runs Runs of `adaptHead` (a tenth as many of the slower measurements, at least 10).
 * @returns One row per K.
 */
export async function adaptTiming(
  engine: ScoringEngine,
  benign: RequestRecord[],
  attacks: RequestRecord[],
  ks: number[] = [10, 50],
  runs = 200,
): Promise<AdaptTiming[]> {
  const config = adaptConfigOf(engine.meta);
  const canaries = await canaryEmbeddings(engine);
  const { app, admin } = timingApp(engine);
  const out: AdaptTiming[] = [];
  const slow = Math.max(10, Math.floor(runs / 10));
  for (const k of ks) {
    const records: RequestRecord[] = [];
    for (let i = 0; i < k; i++) records.push({ ...benign[i % benign.length], label: 0 });
    for (let i = 0; i < k; i++) records.push({ ...attacks[i % attacks.length], label: 1 });
    const examples: HeadExample[] = [];
    for (const r of records) {
      examples.push({ z: (await engine.embed(featuresOfRecord(r))).slice(), label: r.label! });
    }
    for (let i = 0; i < 20; i++) adaptHead(engine.head, examples, config); // warm-up

    const wall: number[] = [];
    let steps = 0;
    const c0 = process.cpuUsage();
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      steps = adaptHead(engine.head, examples, config).steps;
      wall.push(performance.now() - t);
    }
    const adaptCpu = cpuMs(c0) / runs;

    const fitWall: number[] = [], guardWall: number[] = [];
    const c1 = process.cpuUsage();
    for (let i = 0; i < slow; i++) {
      // Exactly what an upload computes before it stores anything.
      const c = await candidateHead({
        engine,
        globalHead: engine.head,
        globalTau: engine.meta.tau,
        config,
        canaries,
        records,
        margin: 0.05,
        force: false,
      });
      fitWall.push(c.ms.features + c.ms.embed + c.ms.adapt);
      guardWall.push(c.ms.calibrate + c.ms.guard);
    }
    const fitCpu = cpuMs(c1) / slow; // fit, τ and guard together

    const body = records.map((r) => JSON.stringify(r)).join("\n");
    const upWall: number[] = [];
    const c2 = process.cpuUsage();
    for (let i = 0; i < slow; i++) {
      const t = performance.now();
      const res = await app.request("http://timing.test/_taugate/tenants/timing.test/examples", {
        method: "POST",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/x-ndjson" },
        body,
      });
      if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      upWall.push(performance.now() - t);
    }
    const upCpu = cpuMs(c2) / slow;
    out.push({
      k,
      adaptHead: { wallMs: round(median(wall)), cpuMs: round(adaptCpu) },
      fit: { wallMs: round(median(fitWall)), cpuMs: round(fitCpu) },
      guard: { wallMs: round(median(guardWall)) },
      upload: { wallMs: round(median(upWall)), cpuMs: round(upCpu) },
      steps,
    });
  }
  return out;
}

/** Benign and attack records of a JSONL text (records without a label are left out). */
function split(text: string): { benign: RequestRecord[]; attacks: RequestRecord[] } {
  const benign: RequestRecord[] = [], attacks: RequestRecord[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const r = parseRecord(JSON.parse(line));
    if (!r.ok) continue;
    if (r.record.label === 1) attacks.push(r.record);
    else if (r.record.label === 0) benign.push(r.record);
  }
  return { benign, attacks };
}

/** One upload of K per class in a fresh app: the first request of an isolate (canaries embedded, JIT cold). */
async function firstUpload(
  engine: ScoringEngine,
  benign: RequestRecord[],
  attacks: RequestRecord[],
  k: number,
) {
  const { app, admin } = timingApp(engine);
  const records = [
    ...Array.from({ length: k }, (_, i) => ({ ...benign[i % benign.length], label: 0 })),
    ...Array.from({ length: k }, (_, i) => ({ ...attacks[i % attacks.length], label: 1 })),
  ];
  const c0 = process.cpuUsage();
  const t = performance.now();
  const res = await app.request("http://timing.test/_taugate/tenants/timing.test/examples", {
    method: "POST",
    headers: { authorization: `Bearer ${admin}`, "content-type": "application/x-ndjson" },
    body: records.map((r) => JSON.stringify(r)).join("\n"),
  });
  const body = await res.json();
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${JSON.stringify(body)}`);
  return { wallMs: round(performance.now() - t), cpuMs: round(cpuMs(c0)), fitMs: body.fit.ms.total };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string" },
      engine: { type: "string", default: "ts" },
      runs: { type: "string", default: "200" },
      records: { type: "string" },
      json: { type: "string" },
      cold: { type: "string", default: "3" },
      "first-upload": { type: "boolean", default: false },
    },
  });
  const root = new URL("../", import.meta.url);
  const modelPath = values.model ?? new URL("models/taugate.onnx", root).pathname;
  let bytes: Uint8Array, modelNote: string;
  try {
    bytes = await Deno.readFile(modelPath);
    modelNote = modelPath;
  } catch {
    const { apiModelBytes } = await import("../test/api/_model.ts");
    bytes = apiModelBytes();
    modelNote = `no ${modelPath}: the tenant API tests' model`;
  }
  const kind = values.engine === "ort" ? "ort" : "ts";
  const engine = await loadEngine(kind, bytes, kind === "ort" ? await denoOrtWasm() : undefined);
  const recordsPath = values.records ?? new URL("test/fixtures/requests.jsonl", root).pathname;
  const { benign, attacks } = split(await Deno.readTextFile(recordsPath));

  if (values["first-upload"]) {
    // Child mode: one first upload, as JSON on stdout.
    console.log(JSON.stringify(await firstUpload(engine, benign, attacks, 50)));
    Deno.exit(0);
  }

  const rows = await adaptTiming(engine, benign, attacks, [10, 50], Number(values.runs));
  const cold = [];
  for (let i = 0; i < Number(values.cold); i++) {
    const args = ["run", "-A", new URL(import.meta.url).pathname, "--first-upload", "--engine", kind];
    if (values.model) args.push("--model", values.model);
    if (values.records) args.push("--records", values.records);
    const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit" })
      .output();
    if (out.success) cold.push(JSON.parse(new TextDecoder().decode(out.stdout)));
  }
  const config = adaptConfigOf(engine.meta);
  console.log(
    `model ${engine.meta.modelId} (${modelNote}), engine ${kind}, Z = ${engine.meta.embedDim}, adapt ` +
      `${config.method} ${config.steps} steps${config.profile ? " + site profile" : ""}; records from ` +
      `${recordsPath} (${benign.length} benign, ${attacks.length} attacks, cycled to K per class)`,
  );
  const ms = (x: number) => x.toFixed(3).padStart(8);
  console.log("K/class  adaptHead: wall     cpu | fit: wall     cpu | guard | upload: wall     cpu   (ms)");
  for (const r of rows) {
    console.log(
      `${String(r.k).padStart(7)}  ${ms(r.adaptHead.wallMs)} ${ms(r.adaptHead.cpuMs)} | ${
        ms(r.fit.wallMs)
      } ` +
        `${ms(r.fit.cpuMs)} | ${r.guard.wallMs.toFixed(3)} | ${ms(r.upload.wallMs)} ${ms(r.upload.cpuMs)}`,
    );
  }
  if (cold.length) {
    const w = median(cold.map((c) => c.wallMs)), f = median(cold.map((c) => c.fitMs));
    console.log(
      `first upload of a fresh process, K = 50: ${w.toFixed(1)} ms wall (fit ${f.toFixed(1)} ms), ` +
        `median of ${cold.length}`,
    );
  }
  const k50 = rows.find((r) => r.k === 50)!;
  const met = (ms: number) => (ms <= 10 ? "met" : "NOT met");
  console.log(
    `10 ms target (Cloudflare free plan), K = 50, warm: adaptHead ${k50.adaptHead.cpuMs} ms CPU (${
      met(k50.adaptHead.cpuMs)
    }); ` +
      `whole fit ${k50.fit.wallMs} ms (${met(k50.fit.wallMs)}); whole upload ${k50.upload.wallMs} ms ` +
      `(${met(k50.upload.wallMs)}); load average ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}`,
  );
  if (values.json) {
    await Deno.writeTextFile(
      values.json,
      JSON.stringify({ model: engine.meta.modelId, engine: kind, rows, firstUpload: cold }, null, 2) + "\n",
    );
  }
}
