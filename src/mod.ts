/**
 * taugate: an ML request scorer at the edge. One line of Hono middleware scores every request with a
 * compact int8 model and blocks, tags or logs it; tenants adapt a head of their own through the tenant API;
 * learning mode proposes each tenant's τ from its live traffic.
 *
 * This entry runs on Deno and on Cloudflare Workers alike. The WebAssembly of the onnxruntime-web engine and
 * the bundled model come from the runtime's entry: `./deno` (`denoEngine()`, `bundledModel()`) or, in the npm
 * package, `taugate/workerd`.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { taugate, type TaugateEnv } from "@taugate/taugate";
 * import { denoEngine } from "@taugate/taugate/deno";
 *
 * const app = new Hono<TaugateEnv>();
 * app.use("*", taugate({ engine: denoEngine(), mode: "block" }));
 * app.get("/", (c) => c.text(`score ${c.get("taugate").score}`));
 * Deno.serve(app.fetch);
 * ```
 * @module
 */
export {
  type ClientAddress,
  decide,
  type Decision,
  type DecisionKind,
  DEFAULT_HEADER_NAMES,
  type EngineSource,
  type EngineStatus,
  type Exclusions,
  type FailMode,
  type LogOptions,
  type Mode,
  taugate,
  type TaugateEnv,
  type TaugateMiddleware,
  type TaugateOptions,
  type TenantResolver,
} from "./middleware/mod.ts";
export { loadEngine, readModelMeta } from "./model/mod.ts";
export type { Engine, HeadParams, ModelMeta, ScoringEngine } from "./model/mod.ts";
export { type OrtWasmSource } from "./model/ort_engine.ts";
export { workerdOrtWasm } from "./model/ort_workerd.ts";
export {
  HeadCache,
  type HeadStore,
  type KVNamespace,
  type ListableKVNamespace,
  MemoryHeadStore,
  MemoryTenantStore,
  type StoredHead,
  type TenantStore,
  WorkersKvHeadStore,
  WorkersKvTenantStore,
} from "./store/mod.ts";
export { DenoKvHeadStore } from "./store/deno_kv.ts";
export { DenoKvTenantStore } from "./store/tenant_deno_kv.ts";
export { tenantApi, type TenantApiOptions } from "./api/api.ts";
export { apiConfigFromEnv } from "./api/config.ts";
export { Learner, type LearnerOptions, type LearnStore } from "./learn/mod.ts";
export { createWorkerApp, READY_PATH, type WorkerAppOptions } from "./worker/app.ts";
export { workerConfigFromEnv } from "./worker/config.ts";
export { tenantConsole } from "./console/console.ts";
