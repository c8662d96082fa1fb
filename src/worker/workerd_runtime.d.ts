/**
 * The few workerd runtime types that the Worker's entries and the generated `Env`
 * (`workerd_configuration.d.ts`, from `wrangler types --include-runtime=false`) name, declared globally as
 * `@cloudflare/workers-types` (or `wrangler types`' runtime part) would. Deno has neither, and the runtime
 * part is a 10 000-line file of globals that clash with Deno's own (`Request`, `Response`, `caches`, ...),
 * so this project declares the shapes it uses and nothing more. A project that loads the real runtime types
 * does not load this file (both declare `KVNamespace`).
 */

/**
 * A Workers KV binding (`[[kv_namespaces]]`): the methods the stores call (`get`, `put`, `delete`; `list` for
 * the tenant API and learning mode). The real binding has more; this is what taugate relies on.
 */
type KVNamespace = import("../store/tenant_workers_kv.ts").ListableKVNamespace;

/** The third argument of a Worker's `fetch`. */
interface ExecutionContext {
  /** Keeps the isolate alive until `promise` settles (after the response is sent). */
  waitUntil(promise: Promise<unknown>): void;
  /** On an uncaught exception, forwards the request to the origin instead of failing it. */
  passThroughOnException(): void;
  /** `ctx.props` (service bindings with props); taugate does not read it. */
  readonly props: unknown;
}

/** What a Worker module exports as `default` (the handlers taugate implements: `fetch`). */
interface ExportedHandler<Env = unknown> {
  /** Answers an HTTP request. */
  fetch?: (request: Request, env: Env, ctx: ExecutionContext) => Response | Promise<Response>;
}
