/**
 * The standalone worker: the taugate middleware in front of either an origin (`ORIGIN`) or the embedded
 * echo app, and, when `TAUGATE_ADMIN_TOKEN` is set, the tenant API in front of both under `/_taugate`.
 * Plain Hono and Web APIs; the Deno and workerd entries only supply the engine and the stores.
 *
 * @module
 */
import { Hono } from "hono";
import { isApiPath, tenantApi } from "../api/api.ts";
import type { ApiConfig } from "../api/config.ts";
import { type EngineSource, type LogOptions, taugate, type TaugateEnv } from "../middleware/mod.ts";
import type { BackboneWeights, Engine } from "../model/types.ts";
import { HeadCache } from "../store/cached.ts";
import type { TenantStore } from "../store/tenant_store.ts";
import type { HeadStore } from "../store/types.ts";
import type { WorkerConfig } from "./config.ts";
import { echo } from "./echo.ts";
import { forwarder } from "./forward.ts";

/** What the worker app is built from. */
export interface WorkerAppOptions {
  /** Settings (`workerConfigFromEnv`). */
  config: WorkerConfig;
  /** The engine or its lazy loader. */
  engine: EngineSource;
  /** Tenant heads (a store is wrapped in a default `HeadCache`). */
  store?: HeadStore | HeadCache;
  /** Where log lines go (default `console.log`). */
  logSink?: LogOptions["sink"];
  /** The tenant API (`apiConfigFromEnv`); absent: it is off and `/_taugate` is ordinary traffic. */
  api?: WorkerApiOptions;
}

/** The tenant API's part of the worker. */
export interface WorkerApiOptions {
  /** Token, guard margin, versions kept. */
  config: ApiConfig;
  /**
   * Heads, history and tokens. Its `heads` is the store the middleware reads when `store` is not given;
   * a `store` given must be the same storage.
   */
  store: TenantStore;
  /** The backbone's float32 weights for explanations, when the engine does not expose them (ORT). */
  weights?: () => BackboneWeights | Promise<BackboneWeights>;
}

/** One engine for the middleware and the API: a loader is called once (again only after it failed). */
function shared(source: EngineSource): EngineSource {
  if (typeof source !== "function") return source;
  let pending: Promise<Engine> | undefined;
  return () =>
    pending ??= Promise.resolve().then(source).catch((err) => {
      pending = undefined;
      throw err;
    });
}

/**
 * Builds the standalone worker's Hono app.
 *
 * @param options Configuration, engine, store.
 * @returns The app; serve it with `Deno.serve(app.fetch)` or export it as a Worker's `fetch`.
 * @throws {TypeError} for an invalid option (named).
 * @example
 * ```ts ignore
 * const app = createWorkerApp({ config: workerConfigFromEnv(Deno.env.toObject()), engine: () => loadEngine("ts", bytes) });
 * Deno.serve({ port: 8000 }, app.fetch);
 * ```
 */
export function createWorkerApp(options: WorkerAppOptions): Hono<TaugateEnv> {
  const { config } = options;
  const app = new Hono<TaugateEnv>();
  let store = options.store;
  let engine = options.engine;
  if (options.api !== undefined) {
    const { api } = options;
    engine = shared(engine);
    // The API drops a tenant's cache entry after each change, so it needs the cache the middleware reads.
    const cache = store instanceof HeadCache ? store : new HeadCache(store ?? api.store.heads);
    store = cache;
    const tenantApp = tenantApi({
      adminToken: api.config.adminToken,
      store: api.store,
      engine,
      cache,
      tau: config.tau,
      mode: config.mode,
      guardMargin: api.config.guardMargin,
      keepVersions: api.config.keepVersions,
      weights: api.weights,
      log: options.logSink,
    });
    // Before the middleware: the API's own requests (full of attack examples) are never scored, and nothing
    // under /_taugate reaches the origin (unknown paths there get the API's 404).
    app.use("*", (c, next) => {
      if (!isApiPath(c.req.path)) return next();
      let ctx: unknown;
      try {
        ctx = c.executionCtx;
      } catch { /* no ExecutionContext (Deno) */ }
      return Promise.resolve(tenantApp.fetch(c.req.raw, c.env, ctx as never));
    });
  }
  app.use(
    "*",
    taugate({
      engine,
      mode: config.mode,
      tau: config.tau,
      store,
      failMode: config.failMode,
      bodyCap: config.bodyCap,
      exclude: { paths: config.excludePaths },
      log: { sample: config.logSample, flaggedSample: config.logFlaggedSample, sink: options.logSink },
    }),
  );
  if (config.origin !== undefined) {
    const forward = forwarder(config.origin);
    app.all("*", (c) => forward(c.req.raw, c.get("taugate")?.requestId));
  } else {
    app.all("*", (c) => echo(c.req.raw));
  }
  app.onError((err, c) => {
    console.error(JSON.stringify({ msg: "taugate: unhandled error", error: String(err).slice(0, 300) }));
    return c.json({ error: "internal_error" }, 500);
  });
  return app;
}
