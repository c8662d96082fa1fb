/**
 * A server for the throughput measurement (spawned by `http.ts`): the benchmark's Hono app (`min`: taugate
 * in front of a handler that reads the body and answers `ok`) or the standalone worker's app (`worker`:
 * taugate in front of the echo app), with taugate in the given mode, served by `Deno.serve` on 127.0.0.1.
 * The engine is loaded before it listens; log lines are built as configured and dropped.
 *
 * Environment: `PORT`, `BENCH_MODEL` (file), `BENCH_ENGINE` (`ort` | `ts`), `BENCH_MODE` (`off` | `block`),
 * `BENCH_APP` (`min` | `worker`), `BENCH_HEAD` (a file with the head tenant's stored head document, JSON).
 *
 * @module
 */
import { loadEngine } from "../../src/model/mod.ts";
import { denoOrtWasm } from "../../src/model/ort_deno.ts";
import { HeadCache, MemoryHeadStore, type StoredHead } from "../../src/store/mod.ts";
import { createWorkerApp } from "../../src/worker/app.ts";
import { workerConfigFromEnv } from "../../src/worker/config.ts";
import { benchApp } from "./micro.ts";
import { HEAD_TENANT } from "./mix.ts";

const env = Deno.env.toObject();
const kind = env.BENCH_ENGINE === "ts" ? "ts" : "ort";
const mode = env.BENCH_MODE === "off" ? "off" : "block";
const bytes = await Deno.readFile(env.BENCH_MODEL);
const engine = await loadEngine(kind, bytes, kind === "ort" ? await denoOrtWasm() : undefined);
const store = new MemoryHeadStore();
if (env.BENCH_HEAD) {
  await store.put(HEAD_TENANT, JSON.parse(await Deno.readTextFile(env.BENCH_HEAD)) as StoredHead);
}
let lines = 0;
const sink = (line: string) => void (lines += line.length > 0 ? 1 : 0);
const app = env.BENCH_APP === "worker"
  ? createWorkerApp({
    config: workerConfigFromEnv({ TAUGATE_MODE: mode, TAUGATE_ENGINE: kind }),
    engine,
    store: new HeadCache(store),
    logSink: sink,
  })
  : benchApp({ engine, mode, store: new HeadCache(store), log: { sink } });

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(env.PORT),
  onListen: () => console.log("ready"),
}, app.fetch);
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
