/**
 * The standalone worker: the taugate middleware in front of either an origin (`ORIGIN`) or the embedded
 * echo app, and, when `TAUGATE_ADMIN_TOKEN` is set, the tenant API in front of both under `/_taugate`, with
 * the tenant console at `/_taugate/console`.
 * Plain Hono and Web APIs; the Deno and workerd entries only supply the engine and the stores.
 *
 * @module
 */
import { Hono } from "hono";
import { isApiPath, tenantApi } from "../api/api.ts";
import type { ApiConfig } from "../api/config.ts";
import { isConsolePath, tenantConsole } from "../console/console.ts";
import {
  type ClientAddress,
  type EngineSource,
  type LogOptions,
  taugate,
  type TaugateEnv,
  type TaugateMiddleware,
} from "../middleware/mod.ts";

/** The worker's readiness route: 200 `{"ready": true}` once the model is loaded, else 503. */
export const READY_PATH = "/_taugate/ready";
import type { BackboneWeights, Engine } from "../model/types.ts";
import { HeadCache } from "../store/cached.ts";
import type { TenantStore } from "../store/tenant_store.ts";
import type { HeadStore } from "../store/types.ts";
import {
  canonicalRequest,
  MAX_TARGET_BYTES,
  refusalLogLine,
  refusalResponse,
} from "../middleware/canonical.ts";
import type { WorkerConfig } from "./config.ts";
export type { WorkerConfig } from "./config.ts";
import { echo } from "./echo.ts";
import { Learner } from "../learn/learner.ts";
import type { LearnStore } from "../learn/store.ts";
import { forwarder } from "./forward.ts";
import { retryingOnce } from "../util/memo.ts";

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
  /**
   * The tenant API (`apiConfigFromEnv`) and its console; absent: both are off, and requests under
   * `/_taugate` are scored like any other and then answered 403 `api_disabled`: never forwarded, so a token
   * sent there never reaches the origin.
   */
  api?: WorkerApiOptions;
  /** Longest request target accepted before the worker answers 414 (default `MAX_TARGET_BYTES`, 16 KiB). */
  maxTargetBytes?: number;
  /** The middleware's bound on a request's wait for the engine (`engineTimeoutMs`; default its own). */
  engineTimeoutMs?: number;
  /**
   * Learning mode's learner when `config.learn` is on (default: one made here, writing to the API store's
   * `learning`, else to `learnStore`, else nowhere).
   */
  learner?: Learner;
  /** Where learning shards go when the API is off. */
  learnStore?: LearnStore;
  /** The client's address for learning's per-client bound (default: the middleware's, see `clientAddress`). */
  clientAddress?: ClientAddress;
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
  /** Longest wait for one storage call before the API answers 503 (default the API's, 5 000 ms). */
  storeTimeoutMs?: number;
}

/** The client's address from a proxy's header (its first comma-separated value), when one is configured. */
function headerAddress(name: string | undefined): ClientAddress | undefined {
  if (name === undefined) return undefined;
  return (c) => {
    const v = c.req.header(name);
    if (v === undefined) return null;
    const i = v.indexOf(",");
    return (i < 0 ? v : v.slice(0, i)).trim().slice(0, 64) || null;
  };
}

/** One engine for the middleware and the API: a loader is called once (again only after it failed). */
function shared(source: EngineSource): EngineSource {
  return typeof source === "function" ? retryingOnce<Engine>(source) : source;
}

/**
 * Builds the standalone worker's Hono app. Its `fetch` first puts the request's URL in canonical form and
 * refuses what the worker does not serve (`middleware/canonical.ts`: 400, 405, 414), then routes.
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
  // One setting for the middleware and the API's dry run (`TAUGATE_OVERFLOW`, `TAUGATE_INSPECT_BYTES`).
  const overflowOption = config.overflow === "off" ? false as const : {
    bodyBytes: config.inspectBytes,
    uninspected: config.overflow === "flag" ? "flag" as const : "score" as const,
  };
  let store = options.store;
  let engine = options.engine;
  const learner = !config.learn ? undefined : options.learner ?? new Learner({
    store: options.api?.store.learning ?? options.learnStore ?? null,
    flushMs: config.learnFlushMs,
  });
  // Readiness for load balancers and operators, answered before anything else (API on or off): whether the
  // model is loaded (loading it if needed). No detail for an unauthenticated caller; the reason a load failed
  // is in the error log.
  let middleware: TaugateMiddleware | undefined;
  app.get(READY_PATH, async (c) => {
    const s = middleware === undefined ? { state: "idle" as const } : await middleware.ready();
    return c.json(
      s.state === "ready" ? { ready: true } : { ready: false, state: s.state },
      s.state === "ready" ? 200 : 503,
      { "cache-control": "no-store" },
    );
  });
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
      overflow: overflowOption,
      guardMargin: api.config.guardMargin,
      keepVersions: api.config.keepVersions,
      weights: api.weights,
      log: options.logSink,
      storeTimeoutMs: api.storeTimeoutMs,
      learner,
    });
    const consoleApp = tenantConsole();
    // Before the middleware: the API's own requests (full of attack examples) are never scored, and nothing
    // under /_taugate reaches the origin (unknown paths there get the API's 404).
    app.use("*", (c, next) => {
      if (!isApiPath(c.req.path)) return next();
      if (isConsolePath(c.req.path)) return Promise.resolve(consoleApp.fetch(c.req.raw));
      let ctx: unknown;
      try {
        ctx = c.executionCtx;
      } catch { /* no ExecutionContext (Deno) */ }
      return Promise.resolve(tenantApp.fetch(c.req.raw, c.env, ctx as never));
    });
  }
  app.use(
    "*",
    middleware = taugate({
      engine,
      mode: config.mode,
      tau: config.tau,
      store,
      failMode: config.failMode,
      bodyCap: config.bodyCap,
      overflow: overflowOption,
      exclude: { paths: config.excludePaths, clients: config.excludeClients, headers: config.excludeHeaders },
      exposeToClient: config.exposeToClient,
      log: { sample: config.logSample, flaggedSample: config.logFlaggedSample, sink: options.logSink },
      engineTimeoutMs: options.engineTimeoutMs,
      maxTargetBytes: options.maxTargetBytes,
      learn: learner ?? false,
      clientAddress: options.clientAddress ?? headerAddress(config.clientHeader),
    }),
  );
  if (options.api === undefined) {
    // The prefix stays taugate's when the API is off: scored like any request, then refused, never forwarded.
    app.use("*", (c, next) => {
      if (!isApiPath(c.req.path)) return next();
      return Promise.resolve(c.json(
        {
          error: "api_disabled",
          reason: "the tenant API is off (TAUGATE_ADMIN_TOKEN is not set)",
          request_id: c.get("taugate")?.requestId ?? null,
        },
        403,
        { "cache-control": "no-store" },
      ));
    });
  }
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

  const maxTarget = options.maxTargetBytes ?? MAX_TARGET_BYTES;
  const sink = options.logSink ?? console.log;
  const dispatch = app.fetch;
  // Before Hono reads the path: routing, exclusions, the tenant and the features all see the canonical URL.
  app.fetch = (req, env, ctx) => {
    const out = canonicalRequest(req, maxTarget);
    if (out instanceof Request) return dispatch(out, env, ctx);
    if (config.logFlaggedSample >= 1 || Math.random() < config.logFlaggedSample) {
      sink(refusalLogLine(out, req.method));
    }
    return refusalResponse(out);
  };
  return app;
}
