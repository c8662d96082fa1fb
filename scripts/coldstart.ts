/**
 * Cold start: from process start to the first scored response (a response with a decision other than
 * `error`), for the standalone worker on Deno (`deno task start`'s command, with either engine), in
 * workerd through `wrangler dev`, and in workerd through Miniflare with the bundles that
 * `wrangler deploy --dry-run` builds (the default one with onnxruntime-web, and `--env free` with the
 * TypeScript engine).
 *
 * ```sh
 * deno run -A scripts/coldstart.ts [--runs 5] [--model models/taugate.onnx]
 *   [--only deno|deno-ts|wrangler|miniflare|miniflare-free]
 * ```
 *
 * Without `models/taugate.onnx` (and no `--model`) it measures with a random model of the shipped shape
 * (the test model: D from the feature spec, 32 → 16). Prints one line per run and the median per target.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildModelOnnx, randomModel, specShape } from "../src/model/mod.ts";
import { type ColdRun, denoColdStart, firstScored, freePort, readyWatch, stop } from "./bench/coldstart.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const { values: args } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "5" }, model: { type: "string" }, only: { type: "string" } },
});
const runs = Number(args.runs);
const env = { ...Deno.env.toObject(), NO_COLOR: "1", WRANGLER_SEND_METRICS: "false", CI: "1" };

async function modelFile(): Promise<{ path: string; what: string }> {
  const path = args.model ?? join(ROOT, "models/taugate.onnx");
  try {
    await Deno.stat(path);
    return { path, what: path };
  } catch {
    if (args.model) throw new Error(`no model at ${path}`);
  }
  const m = randomModel(11, {
    ...specShape(),
    hidden: 32,
    layers: [{ outDim: 16, activation: "tanh" }],
    modelId: "coldstart-random",
  });
  const tmp = await Deno.makeTempFile({ suffix: ".onnx" });
  await Deno.writeFile(tmp, buildModelOnnx(m.weights, m.head, m.meta, { quantize: "int8" }));
  return { path: tmp, what: "random model (no models/taugate.onnx)" };
}

const quietIo = { stdout: "null", stderr: "null", stdin: "null" } as const;
const watchIo = { stdout: "piped", stderr: "null", stdin: "null" } as const;

type Run = ColdRun;

function denoRun(model: string, engine: "ort" | "ts"): Promise<Run> {
  return denoColdStart(model, engine, tmp, env);
}

/** A copy of the worker's sources with the model in place, for wrangler (which resolves symlinks). */
async function wranglerDir(model: string): Promise<string> {
  const dir = join(tmp, "wrangler");
  await Deno.mkdir(join(dir, "models"), { recursive: true });
  await new Deno.Command("cp", { args: ["-r", join(ROOT, "src"), join(ROOT, "wrangler.toml"), dir] })
    .output();
  await Deno.copyFile(model, join(dir, "models/taugate.onnx"));
  await Deno.symlink(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

async function wranglerRun(dir: string): Promise<Run> {
  const port = freePort();
  const t0 = performance.now();
  const child = new Deno.Command(join(ROOT, "node_modules/.bin/wrangler"), {
    args: ["dev", "--ip", "127.0.0.1", "--port", String(port), "--env=", "--log-level", "error"],
    cwd: dir,
    env,
    ...quietIo,
  }).spawn();
  try {
    return { total: await firstScored(`http://127.0.0.1:${port}/?q=coldstart`, t0, child), afterReady: NaN };
  } finally {
    await stop(child);
  }
}

// Miniflare with the deployable bundle: workerd's start plus the isolate's first request (module
// evaluation, onnxruntime-web instantiating the precompiled wasm, the session, the scoring).
const MINIFLARE = `
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Log, LogLevel, Miniflare } from "${
  new URL("node_modules/miniflare/dist/src/index.js", "file://" + ROOT).href
}";
const [dir, port, date] = process.argv.slice(2);
const types = { ".js": "ESModule", ".wasm": "CompiledWasm", ".onnx": "Data" };
const modules = [];
for (const name of readdirSync(dir)) {
  const ext = name.slice(name.lastIndexOf("."));
  if (types[ext]) modules.push({ type: types[ext], path: join(dir, name), contents: readFileSync(join(dir, name)) });
}
modules.sort((a, b) => (a.type === "ESModule" ? -1 : b.type === "ESModule" ? 1 : 0));
const mf = new Miniflare({ modules, modulesRoot: dir, compatibilityDate: date, host: "127.0.0.1", port: Number(port),
  kvNamespaces: ["TENANT_KV"], bindings: { TAUGATE_LOG_SAMPLE: "0", TAUGATE_LOG_FLAGGED_SAMPLE: "0" },
  log: new Log(LogLevel.ERROR), cf: false });
await mf.ready;
console.log("miniflare ready");
process.on("SIGTERM", () => mf.dispose().then(() => process.exit(0)));
`;

async function miniflareRun(bundle: string, date: string): Promise<Run> {
  const port = freePort();
  const script = join(tmp, "miniflare.mjs");
  await Deno.writeTextFile(script, MINIFLARE);
  const t0 = performance.now();
  const child = new Deno.Command("node", {
    args: [script, bundle, String(port), date],
    cwd: ROOT,
    env,
    ...watchIo,
  }).spawn();
  const ready = readyWatch(child, "miniflare ready", t0);
  try {
    const total = await firstScored(`http://127.0.0.1:${port}/?q=coldstart`, t0, child);
    return { total, afterReady: total - ready.at() };
  } finally {
    await stop(child);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const tmp = await Deno.makeTempDir({ prefix: "taugate-coldstart-" });
try {
  const model = await modelFile();
  console.log(`model: ${model.what}; ${runs} runs each; ${navigator.hardwareConcurrency} CPUs`);
  const results: Record<string, Run[]> = {};
  const measure = async (name: string, f: () => Promise<Run>) => {
    if (args.only && args.only !== name) return;
    results[name] = [];
    for (let i = 0; i < runs; i++) {
      const r = await f();
      results[name].push(r);
      const after = Number.isNaN(r.afterReady) ? "" : ` (${r.afterReady.toFixed(0)} ms after ready)`;
      console.log(`${name} run ${i + 1}: ${r.total.toFixed(0)} ms${after}`);
    }
  };
  await measure("deno", () => denoRun(model.path, "ort"));
  await measure("deno-ts", () => denoRun(model.path, "ts"));
  if (args.only !== "deno" && args.only !== "deno-ts") {
    // wrangler dev's own start (bundling, workerd) dominates; the isolate's part shows in the Miniflare runs.
    const dir = await wranglerDir(model.path);
    await measure("wrangler", () => wranglerRun(dir));
    const toml = await Deno.readTextFile(join(dir, "wrangler.toml"));
    const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)![1];
    // The default build (onnxruntime-web) and the free-plan build (TypeScript engine, `--env free`).
    for (const [name, wranglerEnv] of [["miniflare", ""], ["miniflare-free", "free"]]) {
      if (args.only && args.only !== name) continue;
      const out = join(tmp, `dist-${name}`);
      const built = await new Deno.Command(join(ROOT, "node_modules/.bin/wrangler"), {
        args: ["deploy", "--dry-run", "--outdir", out, `--env=${wranglerEnv}`],
        cwd: dir,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!built.success) throw new Error(new TextDecoder().decode(built.stderr));
      await measure(name, () => miniflareRun(out, date));
    }
  }
  console.log("");
  for (const [name, rs] of Object.entries(results)) {
    const xs = rs.map((r) => r.total);
    const after = rs.some((r) => !Number.isNaN(r.afterReady))
      ? `; after ready: median ${median(rs.map((r) => r.afterReady)).toFixed(0)} ms`
      : "";
    console.log(
      `${name}: process start to first scored response: median ${median(xs).toFixed(0)} ms ` +
        `(min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})${after}`,
    );
  }
} finally {
  await Deno.remove(tmp, { recursive: true });
}
