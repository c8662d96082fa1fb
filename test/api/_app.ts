/**
 * The standalone worker app with the tenant API on, over the API test model, for the API's tests.
 */
import type { Hono } from "hono";
import { apiConfigFromEnv } from "../../src/api/config.ts";
import type { TaugateEnv } from "../../src/middleware/mod.ts";
import { createTsEngine, type ScoringEngine } from "../../src/model/mod.ts";
import type { RequestRecord } from "../../src/record/record.ts";
import { MemoryTenantStore, type TenantStore } from "../../src/store/mod.ts";
import { createWorkerApp } from "../../src/worker/app.ts";
import { workerConfigFromEnv } from "../../src/worker/config.ts";
import { apiModelBytes } from "./_model.ts";

/** The operator's token in these tests. */
export const ADMIN = "operator-token-0123456789abcdef0123456789";
export const BASE = "http://api.test/_taugate";

/** What a test gets. */
export interface TestWorld {
  app: Hono<TaugateEnv>;
  store: TenantStore;
  engine: ScoringEngine;
  audit: string[];
  /** A request to the API with a token (default the operator's). */
  api(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  /** Uploads records as JSONL. */
  upload(tenant: string, records: RequestRecord[], token?: string, query?: string): Promise<Response>;
  /** Mints a token for a tenant. */
  mint(tenant: string): Promise<string>;
  /** Sends a record as a real request to the tenant's host; the decision headers and status. */
  send(host: string, rec: RequestRecord): Promise<{ status: number; score: number; head: string | null }>;
}

/**
 * Builds the worker with the API on.
 *
 * @param options `env`: worker and API variables; `store`; `engine`; `modelMeta`: card changes.
 */
export function testWorld(
  options: {
    env?: Record<string, string>;
    store?: TenantStore;
    engine?: ScoringEngine;
    modelMeta?: Record<string, unknown>;
  } = {},
): TestWorld {
  const env = { TAUGATE_MODE: "block", TAUGATE_ADMIN_TOKEN: ADMIN, TAUGATE_EXPOSE: "on", ...options.env };
  const store = options.store ?? new MemoryTenantStore();
  const engine = options.engine ?? createTsEngine(apiModelBytes(options.modelMeta));
  const audit: string[] = [];
  const apiConfig = apiConfigFromEnv(env);
  const app = createWorkerApp({
    config: workerConfigFromEnv(env),
    engine,
    logSink: (line) => audit.push(line),
    api: apiConfig ? { config: apiConfig, store } : undefined,
  });
  const api = (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const { token = ADMIN, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (token !== null) headers.set("authorization", `Bearer ${token}`);
    return Promise.resolve(app.request(BASE + path, { ...rest, headers }));
  };
  return {
    app,
    store,
    engine,
    audit,
    api,
    upload: (tenant, records, token = ADMIN, query = "") =>
      api(`/tenants/${tenant}/examples${query}`, {
        method: "POST",
        token,
        headers: { "content-type": "application/x-ndjson" },
        body: records.map((r) => JSON.stringify(r)).join("\n"),
      }),
    mint: async (tenant) => {
      const res = await api(`/tenants/${tenant}/tokens`, { method: "POST" });
      if (res.status !== 201) throw new Error(`mint: ${res.status} ${await res.text()}`);
      return (await res.json()).token;
    },
    send: async (host, rec) => {
      const res = await app.request(`http://${host}${rec.url}`, {
        method: rec.method,
        headers: rec.headers,
        body: rec.body,
      });
      await res.body?.cancel();
      return {
        status: res.status,
        score: Number(res.headers.get("x-taugate-score")),
        head: res.headers.get("x-taugate-head"),
      };
    },
  };
}

/** Records labelled. */
export function labelled(records: RequestRecord[], label: 0 | 1): RequestRecord[] {
  return records.map((r) => ({ ...r, label }));
}
