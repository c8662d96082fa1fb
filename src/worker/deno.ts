/**
 * `deno task start`: the standalone worker on Deno, with the bundled model and local Deno KV.
 *
 * Environment: `PORT` (8000), `HOST` (127.0.0.1), `TAUGATE_MODEL` (`models/taugate.onnx`),
 * `TAUGATE_KV_PATH` (`.taugate/kv.sqlite3`), plus the worker's settings (`config.ts`: `TAUGATE_MODE`,
 * `TAUGATE_TAU`, `TAUGATE_ENGINE`, `TAUGATE_FAIL_MODE`, `TAUGATE_LOG_SAMPLE`, `TAUGATE_BODY_CAP`,
 * `TAUGATE_EXCLUDE_PATHS`, `ORIGIN`) and the tenant API's (`TAUGATE_ADMIN_TOKEN` turns it on,
 * `TAUGATE_GUARD_MARGIN`, `TAUGATE_HEAD_VERSIONS`). Relative paths are relative to the repository. A missing
 * model or a bad setting stops it at once with one line saying what to do.
 *
 * @module
 */
import { dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ApiConfig, apiConfigFromEnv } from "../api/config.ts";
import { loadEngine, readModelOnnx, type ScoringEngine } from "../model/mod.ts";
import { denoOrtWasm } from "../model/ort_deno.ts";
import { HeadCache } from "../store/cached.ts";
import { DenoKvTenantStore } from "../store/tenant_deno_kv.ts";
import { createWorkerApp } from "./app.ts";
import { Learner } from "../learn/learner.ts";
import { type DenoConfig, denoConfigFromEnv, workerConfigFromEnv } from "./config.ts";
import { retryingOnce } from "../util/memo.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const started = performance.now();

function fail(line: string): never {
  console.error(line);
  Deno.exit(1);
}

function fromRoot(p: string): string {
  return isAbsolute(p) ? p : join(ROOT, p);
}

const env = Deno.env.toObject();
let config;
let apiConfig: ApiConfig | null = null;
try {
  config = workerConfigFromEnv(env);
  apiConfig = apiConfigFromEnv(env);
} catch (err) {
  fail((err as Error).message);
}
let denoConfig: DenoConfig;
try {
  denoConfig = denoConfigFromEnv(env);
} catch (err) {
  fail((err as Error).message);
}
const { port, hostname } = denoConfig;

const modelPath = fromRoot(denoConfig.modelPath);
let modelBytes: Uint8Array;
try {
  modelBytes = await Deno.readFile(modelPath);
} catch (err) {
  if (err instanceof Deno.errors.NotFound) {
    fail(
      `taugate: no model at ${modelPath}: build it with \`deno task train\` (or set TAUGATE_MODEL to a model file)`,
    );
  }
  fail(`taugate: cannot read the model at ${modelPath}: ${(err as Error).message}`);
}

const kvPath = fromRoot(denoConfig.kvPath);
let kv: Deno.Kv;
try {
  await Deno.mkdir(dirname(kvPath), { recursive: true });
  kv = await Deno.openKv(kvPath);
} catch (err) {
  fail(`taugate: cannot open Deno KV at ${kvPath}: ${(err as Error).message} (run with --unstable-kv)`);
}

// One engine per process, shared by every request; a failed load is retried by the next caller.
const engineKind = config.engine;
const load: () => Promise<ScoringEngine> = retryingOnce(async () => {
  const wasm = engineKind === "ort" ? await denoOrtWasm() : undefined;
  return await loadEngine(engineKind, modelBytes, wasm);
});

const tenants = new DenoKvTenantStore(kv);
// Learning mode: one learner for the process, its shards in the same Deno KV (a restart keeps them).
const learner = config.learn
  ? new Learner({ store: tenants.learning, flushMs: config.learnFlushMs })
  : undefined;
const app = createWorkerApp({
  config,
  learner,
  engine: load,
  store: new HeadCache(tenants.heads),
  api: apiConfig === null ? undefined : {
    config: apiConfig,
    store: tenants,
    // Explanations need float32 weights; the ORT engine keeps its own inside WebAssembly.
    weights: () => readModelOnnx(modelBytes).weights,
  },
});

const server = Deno.serve({
  hostname,
  port,
  onListen({ hostname, port }) {
    const target = config.origin ? `origin ${config.origin}` : "echo app";
    console.log(
      `taugate listening on http://${hostname}:${port} (mode ${config.mode}, engine ${engineKind}, ` +
        `${target}, model ${modelPath}, kv ${kvPath}, tenant API ${apiConfig ? "on at /_taugate" : "off"}, ` +
        `learning ${learner ? "on" : "off"}) ` +
        `after ${Math.round(performance.now() - started)} ms`,
    );
    // Loading starts now, off the request path; the first request waits for it if it comes sooner.
    load().then(
      (e) =>
        console.log(
          `taugate: model ${e.meta.modelId} ready (${e.kind}) after ${
            Math.round(performance.now() - started)
          } ms`,
        ),
      (err) =>
        console.error(
          `taugate: the model failed to load (fail mode ${config.failMode} applies): ${err.message}`,
        ),
    );
  },
}, app.fetch);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    server.shutdown().then(() => learner?.flushAll()).finally(() => {
      kv.close();
      Deno.exit(0);
    });
  });
}
