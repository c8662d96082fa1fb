/**
 * The standalone worker: the taugate middleware in front of either an origin (`ORIGIN`) or the embedded
 * echo app. Plain Hono and Web APIs; the Deno and workerd entries only supply the engine and the store.
 *
 * @module
 */
import { Hono } from "hono";
import { type EngineSource, type LogOptions, taugate, type TaugateEnv } from "../middleware/mod.ts";
import type { HeadCache } from "../store/cached.ts";
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
  app.use(
    "*",
    taugate({
      engine: options.engine,
      mode: config.mode,
      tau: config.tau,
      store: options.store,
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
