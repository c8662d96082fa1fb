import assert from "node:assert/strict";
import { loadEngine, type ScoringEngine } from "../../src/model/mod.ts";
import { denoOrtWasm } from "../../src/model/ort_deno.ts";
import { MemoryHeadStore, MemoryTenantStore } from "../../src/store/mod.ts";
import { apiConfigFromEnv } from "../../src/api/config.ts";
import { createWorkerApp } from "../../src/worker/app.ts";
import { workerConfigFromEnv } from "../../src/worker/config.ts";
import { fakeEngine } from "../middleware/_fake_engine.ts";
import { TEST_MODEL_ID, testModelBytes } from "./_model.ts";

const ATTACK = "/search?q=" + encodeURIComponent("<script>alert(document.cookie)</script>");
const hex = (b: ArrayBuffer) =>
  Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
const quiet = () => {};

let ortEngine: Promise<ScoringEngine> | undefined;
/** The real ORT engine on the test model, shared by the tests of this file. */
const ort = () => ortEngine ??= denoOrtWasm().then((w) => loadEngine("ort", testModelBytes(), w));

/** 10 MB of bytes that are not all alike, and their SHA-256. */
async function bigBody(): Promise<{ bytes: Uint8Array<ArrayBuffer>; sha256: string }> {
  const bytes = new Uint8Array(10 * 1024 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + (i >> 11)) & 255;
  return { bytes, sha256: hex(await crypto.subtle.digest("SHA-256", bytes)) };
}

/** Serves `handler` on a free local port for the duration of `f`. */
async function serving<T>(handler: Deno.ServeHandler, f: (base: string) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: quiet }, handler);
  try {
    return await f(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    ac.abort();
    await server.finished;
  }
}

Deno.test("echo app: describes the request, with credentials redacted", async () => {
  const app = createWorkerApp({
    config: workerConfigFromEnv({ TAUGATE_EXPOSE: "on", TAUGATE_MODE: "log" }),
    engine: fakeEngine(),
    logSink: quiet,
  });
  const res = await app.request("http://shop.example.com/a/b?x=1&x=2&y=%20z", {
    method: "PUT",
    headers: { authorization: "Bearer T0KEN", cookie: "s=SECRET", "x-thing": "v" },
    body: "hello",
  });
  assert.equal(res.status, 200);
  const echo = await res.json();
  assert.deepEqual(Object.keys(echo), ["method", "path", "query", "headers", "body_bytes", "body_sha256"]);
  assert.equal(echo.method, "PUT");
  assert.equal(echo.path, "/a/b");
  assert.deepEqual(echo.query, { x: ["1", "2"], y: [" z"] });
  assert.equal(echo.headers["x-thing"], "v");
  assert.equal(echo.headers.authorization, "[redacted]");
  assert.equal(echo.headers.cookie, "[redacted]");
  assert.equal(echo.body_bytes, 5);
  assert.equal(
    echo.body_sha256,
    hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("hello"))),
  );
  const empty = await (await app.request("http://x/?__proto__=1")).json();
  assert.equal(empty.body_bytes, 0);
  assert.equal(empty.body_sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.deepEqual(empty.query.__proto__, ["1"]);
});

Deno.test("standalone app with the ORT engine: blocks, tags and allows by the model's score", async () => {
  const engine = await ort();
  assert.equal(engine.kind, "ort");
  const scores: number[] = [];
  const probe = createWorkerApp({
    config: workerConfigFromEnv({ TAUGATE_EXPOSE: "on", TAUGATE_MODE: "log" }),
    engine,
    logSink: quiet,
  });
  const paths = ["/", ATTACK, "/shop/products/1234?sort=price", "/.git/config", "/a?x=%zz%4%%", "/login"];
  for (const p of paths) {
    const res = await probe.request("http://shop.example.com" + p);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-taugate-model"), TEST_MODEL_ID);
    scores.push(Number(res.headers.get("x-taugate-score")));
  }
  // A τ between the scores, so that some requests are above it and some below.
  const sorted = [...scores].sort((a, b) => a - b);
  const tau = (sorted[2] + sorted[3]) / 2;
  for (const mode of ["block", "tag"] as const) {
    const app = createWorkerApp({
      config: workerConfigFromEnv({ TAUGATE_EXPOSE: "on", TAUGATE_MODE: mode, TAUGATE_TAU: String(tau) }),
      engine,
      logSink: quiet,
    });
    for (const [i, p] of paths.entries()) {
      const res = await app.request("http://shop.example.com" + p);
      const flagged = scores[i] >= tau;
      assert.equal(Number(res.headers.get("x-taugate-score")), scores[i], p);
      const want = !flagged ? "allow" : mode;
      assert.equal(res.headers.get("x-taugate-decision"), want, `${mode} ${p}`);
      assert.equal(res.status, mode === "block" && flagged ? 403 : 200, `${mode} ${p}`);
      const body = await res.json();
      if (mode === "tag") assert.equal(body.headers["x-taugate-decision"], want, "the app sees the tag");
      if (mode === "block" && flagged) {
        assert.deepEqual(Object.keys(body), ["error", "score", "tau", "request_id"]);
      }
    }
  }
});

Deno.test("standalone app: the TS engine agrees with the ORT engine within 1e-5", async () => {
  const config = workerConfigFromEnv({ TAUGATE_EXPOSE: "on", TAUGATE_MODE: "log" });
  const a = createWorkerApp({ config, engine: await ort(), logSink: quiet });
  const b = createWorkerApp({ config, engine: await loadEngine("ts", testModelBytes()), logSink: quiet });
  for (const p of ["/", ATTACK, "/download?file=..%2F..%2Fetc%2Fpasswd", "/p?k=v&k2=v2"]) {
    const sa = Number((await a.request("http://h" + p)).headers.get("x-taugate-score"));
    const sb = Number((await b.request("http://h" + p)).headers.get("x-taugate-score"));
    assert.ok(Math.abs(sa - sb) <= 1e-5, `${p}: ${sa} vs ${sb}`);
  }
});

Deno.test("a 10 MB body reaches the echo app byte-exact, streamed over HTTP", async () => {
  const { bytes, sha256 } = await bigBody();
  // τ = 1: nothing is blocked, whatever the random test model makes of random bytes (this test is about the
  // body, not the score).
  const config = workerConfigFromEnv({ TAUGATE_EXPOSE: "on", TAUGATE_TAU: "1" });
  const app = createWorkerApp({ config, engine: await ort(), logSink: quiet });
  await serving(app.fetch, async (base) => {
    const res = await fetch(`${base}/upload`, {
      method: "POST",
      body: bytes,
      headers: { "content-type": "application/octet-stream" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-taugate-decision"), "allow");
    const echo = await res.json();
    assert.equal(echo.body_bytes, bytes.length);
    assert.equal(echo.body_sha256, sha256);
  });
});

Deno.test("ORIGIN: a 10 MB body is forwarded byte-exact; tag mode adds the decision to the forwarded request", async () => {
  const { bytes, sha256 } = await bigBody();
  const seen: { url: string; headers: Headers; bytes: number; sha256: string }[] = [];
  const origin: Deno.ServeHandler = async (req) => {
    const chunks: Uint8Array[] = [];
    let n = 0;
    for await (const c of req.body ?? []) chunks.push(c), n += c.length;
    const all = new Uint8Array(n);
    let at = 0;
    for (const c of chunks) all.set(c, at), at += c.length;
    seen.push({
      url: req.url,
      headers: req.headers,
      bytes: n,
      sha256: hex(await crypto.subtle.digest("SHA-256", all)),
    });
    return new Response("origin ok", { status: 201, headers: { "x-origin": "1" } });
  };
  await serving(origin, async (originBase) => {
    const app = createWorkerApp({
      config: workerConfigFromEnv({ TAUGATE_EXPOSE: "on", ORIGIN: originBase, TAUGATE_MODE: "tag" }),
      engine: await ort(),
      logSink: quiet,
    });
    await serving(app.fetch, async (base) => {
      const res = await fetch(`${base}/api/upload?id=7`, {
        method: "POST",
        body: bytes,
        headers: {
          "content-type": "application/octet-stream",
          "x-taugate-decision": "allow",
          "x-taugate-score": "0",
        },
      });
      assert.equal(res.status, 201);
      assert.equal(await res.text(), "origin ok");
      assert.equal(res.headers.get("x-origin"), "1");
      const decision = res.headers.get("x-taugate-decision")!;
      assert.ok(decision === "allow" || decision === "tag");
      assert.equal(seen.length, 1);
      assert.equal(new URL(seen[0].url).pathname + new URL(seen[0].url).search, "/api/upload?id=7");
      assert.equal(seen[0].bytes, bytes.length);
      assert.equal(seen[0].sha256, sha256);
      assert.equal(seen[0].headers.get("x-taugate-decision"), decision);
      assert.equal(seen[0].headers.get("x-taugate-score"), res.headers.get("x-taugate-score"));
      assert.equal(seen[0].headers.get("x-taugate-model"), TEST_MODEL_ID);
      assert.equal(seen[0].headers.get("x-forwarded-host"), base.slice("http://".length));
    });
  });
});

Deno.test("ORIGIN: an unreachable origin is a 502 JSON, never a crash", async () => {
  // A port that was free a moment ago: nothing listens there now.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const app = createWorkerApp({
    config: workerConfigFromEnv({ TAUGATE_EXPOSE: "on", ORIGIN: `http://127.0.0.1:${port}` }),
    engine: fakeEngine(),
    logSink: quiet,
  });
  const res = await app.request("http://shop.example.com/x");
  assert.equal(res.status, 502);
  const body = await res.json();
  assert.equal(body.error, "bad_gateway");
  assert.ok(body.request_id);
  assert.equal(res.headers.get("x-taugate-decision"), "allow");
});

Deno.test("standalone app: a tenant head from the store, and exclusions from the configuration", async () => {
  const engine = await ort();
  const store = new MemoryHeadStore();
  const w = engine.meta.head.w.map((x) => -x);
  await store.put("acme.example", {
    version: 2,
    head: { w, b: -engine.meta.head.b },
    createdAt: "2026-11-29T00:00:00Z",
  });
  const app = createWorkerApp({
    config: workerConfigFromEnv({
      TAUGATE_EXPOSE: "on",
      TAUGATE_MODE: "log",
      TAUGATE_EXCLUDE_PATHS: "/static/*",
    }),
    engine,
    store,
    logSink: quiet,
  });
  const global = Number((await app.request("http://other.example" + ATTACK)).headers.get("x-taugate-score"));
  const res = await app.request("http://acme.example" + ATTACK);
  assert.equal(res.headers.get("x-taugate-head"), "tenant");
  assert.ok(Math.abs(Number(res.headers.get("x-taugate-score")) - (1 - global)) < 1e-6);
  const skipped = await app.request("http://acme.example/static/app.js");
  assert.equal(skipped.headers.get("x-taugate-decision"), null);
  assert.equal(skipped.status, 200);
});

Deno.test("worker: GET /_taugate/ready says whether the model is loaded (API on or off), without details", async () => {
  for (const env of [{}, { TAUGATE_ADMIN_TOKEN: "operator-token-0123456789abcdef0123456789" }]) {
    const apiConfig = apiConfigFromEnv(env);
    const api = () => apiConfig === null ? undefined : { config: apiConfig, store: new MemoryTenantStore() };
    const good = createWorkerApp({
      config: workerConfigFromEnv(env),
      engine: fakeEngine(),
      logSink: quiet,
      api: api(),
    });
    let res = await good.request("http://shop.test/_taugate/ready");
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ready: true });
    assert.equal(res.headers.get("cache-control"), "no-store");
    const original = console.error;
    console.error = quiet;
    try {
      const bad = createWorkerApp({
        config: workerConfigFromEnv(env),
        engine: () => Promise.reject(new Error("secret /path/model.onnx missing")),
        logSink: quiet,
        api: api(),
      });
      res = await bad.request("http://shop.test/_taugate/ready");
      assert.equal(res.status, 503);
      const body = await res.json();
      assert.deepEqual(body, { ready: false, state: "failed" });
    } finally {
      console.error = original;
    }
  }
});
