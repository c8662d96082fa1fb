/**
 * The Worker (workerd) side of the standalone worker: one app per isolate, built on the first request from
 * the Worker's `env` (vars and the `TENANT_KV` binding) and the modules the entry imported.
 *
 * @module
 */
/// <reference path="./workerd_runtime.d.ts" />
/// <reference path="./workerd_configuration.d.ts" />
import type { Hono } from "hono";
import { apiConfigFromEnv } from "../api/config.ts";
import type { TaugateEnv } from "../middleware/mod.ts";
import { readModelOnnx } from "../model/onnx/read.ts";
import type { Engine } from "../model/types.ts";
import { HeadCache } from "../store/cached.ts";
import { type ListableKVNamespace, WorkersKvTenantStore } from "../store/tenant_workers_kv.ts";
import { type KVNamespace as KVNamespaceForHeads, WorkersKvHeadStore } from "../store/workers_kv.ts";
import { createWorkerApp } from "./app.ts";
import { workerConfigFromEnv } from "./config.ts";

/**
 * The bindings as the handler reads them: the generated `Env` (`wrangler types`, from `wrangler.toml`'s
 * `[vars]`, `[[kv_namespaces]]` and the secrets in `.dev.vars.example`; see `workerd_configuration.d.ts`)
 * with every binding optional, since a var can be deleted in the dashboard and a secret is only there once
 * put. `TENANT_KV` needs only what the head store uses (`get`); the tenant API's store checks for `list`.
 */
export type WorkerdEnv =
  & { readonly [K in Exclude<keyof Env, "TENANT_KV">]?: Env[K] }
  & { readonly TENANT_KV?: KVNamespaceForHeads };

/** Creates an engine from the model's bytes. */
export type EngineFactory = (modelBytes: Uint8Array) => Promise<Engine>;

/** What the entry brings: the model it imported and the engines its bundle carries. */
export interface WorkerdModules {
  /** `models/taugate.onnx`, imported as a `Data` module. */
  model: ArrayBuffer;
  /** The engines this build can run (the free-plan build has no `ort`). */
  engines: { ort?: EngineFactory; ts?: EngineFactory };
  /** The engine when `TAUGATE_ENGINE` is unset. */
  defaultEngine: "ort" | "ts";
}

/**
 * The `fetch` handler a Worker module exports: an `ExportedHandler<Env>` (the entries say so with
 * `satisfies`) whose `fetch` also takes a partial `env` and no `ctx` (tests call it directly).
 */
export interface WorkerdHandler {
  fetch(req: Request, env: WorkerdEnv, ctx?: ExecutionContext): Promise<Response>;
}

/**
 * Creates the Worker's handler.
 *
 * @param modules The model, the engines, the default engine.
 * @returns `{ fetch }`, to `export default` from the entry.
 * @example
 * ```ts ignore
 * import { model } from "./workerd_model.js";
 * export default workerdHandler({ model, engines: { ts: async (b) => createTsEngine(b) }, defaultEngine: "ts" });
 * ```
 */
export function workerdHandler(modules: WorkerdModules): WorkerdHandler {
  let app: Hono<TaugateEnv> | undefined;
  let broken: Response | undefined;

  const build = (env: WorkerdEnv): Hono<TaugateEnv> => {
    const config = workerConfigFromEnv(env, { TAUGATE_ENGINE: modules.defaultEngine });
    const factory = modules.engines[config.engine];
    if (factory === undefined) {
      throw new TypeError(
        `taugate: TAUGATE_ENGINE=${config.engine} is not in this build (it has ${
          Object.keys(modules.engines).join(", ")
        })`,
      );
    }
    const bytes = new Uint8Array(modules.model);
    const apiConfig = apiConfigFromEnv(env);
    if (apiConfig !== null && !env.TENANT_KV) {
      throw new TypeError("taugate: the tenant API (TAUGATE_ADMIN_TOKEN) needs the TENANT_KV binding");
    }
    const store = env.TENANT_KV ? new HeadCache(new WorkersKvHeadStore(env.TENANT_KV)) : undefined;
    const api = apiConfig === null ? undefined : {
      config: apiConfig,
      // The real binding has `list`; the store's constructor checks it.
      store: new WorkersKvTenantStore(env.TENANT_KV as ListableKVNamespace),
      weights: () => readModelOnnx(bytes).weights,
    };
    // Learning shards go to the same namespace (the API merges every isolate's).
    const learnStore = config.learn && env.TENANT_KV
      ? (api?.store ?? new WorkersKvTenantStore(env.TENANT_KV as ListableKVNamespace)).learning
      : undefined;
    return createWorkerApp({ config, engine: () => factory(bytes), store, api, learnStore });
  };

  return {
    fetch(req, env, ctx) {
      // Built once per isolate, on the first request: env only exists there, and workerd's global scope
      // must stay cheap (the engine itself loads on the first scored request).
      if (app === undefined && broken === undefined) {
        try {
          app = build(env);
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          console.error(JSON.stringify({ msg: "taugate: bad configuration", error: reason }));
          broken = Response.json({ error: "misconfigured", reason }, { status: 500 });
        }
      }
      if (app === undefined) return Promise.resolve(broken!.clone());
      return Promise.resolve(app.fetch(req, env, ctx));
    },
  };
}
