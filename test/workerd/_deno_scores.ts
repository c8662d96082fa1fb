/**
 * The Deno side of the workerd parity test: scores requests with the standalone worker app on Deno (the
 * same app, model and engine as `deno task start`) and prints one `{ score, head, cut }` per request as JSON
 * (`cut`: its extraction was cut by the caps, so overflow views scored it too).
 *
 * Input (stdin, JSON): `{ model, engine, requests: [{ method, url, headers, body? }], heads?: { [tenant]: StoredHead } }`.
 */
import {
  extractFeatures,
  FEATURE_SPEC,
  INSPECT_BYTES,
  needsViews,
  overflowViews,
  viewFromRequest,
} from "../../src/features/mod.ts";
import { loadEngine } from "../../src/model/mod.ts";
import { denoOrtWasm } from "../../src/model/ort_deno.ts";
import { MemoryHeadStore, type StoredHead } from "../../src/store/mod.ts";
import { createWorkerApp } from "../../src/worker/app.ts";
import { workerConfigFromEnv } from "../../src/worker/config.ts";

interface Input {
  model: string;
  engine: "ort" | "ts";
  requests: { method: string; url: string; headers: Record<string, string>; body?: string }[];
  heads?: Record<string, StoredHead>;
}

const input: Input = JSON.parse(await new Response(Deno.stdin.readable).text());
const bytes = await Deno.readFile(input.model);
const engine = await loadEngine(
  input.engine,
  bytes,
  input.engine === "ort" ? await denoOrtWasm() : undefined,
);
const store = new MemoryHeadStore();
for (const [tenant, doc] of Object.entries(input.heads ?? {})) await store.put(tenant, doc);
// Log mode: every request is scored and let through, so each answer carries its score.
const app = createWorkerApp({
  config: workerConfigFromEnv({ TAUGATE_EXPOSE: "on", TAUGATE_MODE: "log" }),
  engine,
  store,
  logSink: () => {},
});
const out = [];
for (const r of input.requests) {
  const res = await app.request(r.url, { method: r.method, headers: r.headers, body: r.body });
  await res.body?.cancel();
  const view = await viewFromRequest(
    new Request(new URL(r.url, "http://localhost").href, {
      method: r.method,
      headers: r.headers,
      body: r.body,
    }),
    FEATURE_SPEC.caps.body,
    INSPECT_BYTES,
  );
  out.push({
    score: Number(res.headers.get("x-taugate-score")),
    head: res.headers.get("x-taugate-head"),
    // Scored as the highest over its views too (overflow or value views).
    viewed: needsViews(extractFeatures(view)) && overflowViews(view).views.length > 0,
  });
}
console.log(JSON.stringify(out));
