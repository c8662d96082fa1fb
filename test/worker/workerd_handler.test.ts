// The workerd handler's logic, run on Deno (the real workerd runs are in test/workerd/worker.test.mjs).
import assert from "node:assert/strict";
import { createTsEngine } from "../../src/model/mod.ts";
import type { KVNamespace } from "../../src/store/mod.ts";
import { workerdHandler } from "../../src/worker/workerd_handler.ts";
import { TEST_MODEL_ID, testModelBytes } from "./_model.ts";

const bytes = testModelBytes();
const model = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;

function kvWith(entries: Record<string, string>): KVNamespace & { reads: number } {
  const kv = {
    reads: 0,
    get: (key: string) => (kv.reads++, Promise.resolve(entries[key] ?? null)),
    put: () => Promise.resolve(),
    delete: () => Promise.resolve(),
  };
  return kv;
}

const handler = () => {
  let loads = 0;
  const h = workerdHandler({
    model,
    engines: { ts: (b) => (loads++, Promise.resolve(createTsEngine(b))) },
    defaultEngine: "ts",
  });
  return { h, loads: () => loads };
};

Deno.test("workerd handler: one app and one engine per isolate, tenant heads from TENANT_KV", async () => {
  const { h, loads } = handler();
  const w = createTsEngine(bytes).meta.head.w;
  const kv = kvWith({
    "head/acme.example": JSON.stringify({ version: 1, head: { w: w.map(() => 0), b: 10 }, createdAt: "t" }),
  });
  const env = {
    TENANT_KV: kv,
    TAUGATE_MODE: "block",
    TAUGATE_EXPOSE: "on",
    TAUGATE_LOG_SAMPLE: "0",
    TAUGATE_LOG_FLAGGED_SAMPLE: "0",
  };
  assert.equal(loads(), 0, "nothing loads before the first request");
  const a = await h.fetch(new Request("http://acme.example/"), env);
  assert.equal(a.status, 403);
  assert.equal(a.headers.get("x-taugate-head"), "tenant");
  assert.equal(a.headers.get("x-taugate-model"), TEST_MODEL_ID);
  const b = await h.fetch(new Request("http://other.example/"), env);
  assert.equal(b.headers.get("x-taugate-head"), "global");
  await h.fetch(new Request("http://acme.example/again"), env);
  assert.equal(loads(), 1);
  assert.equal(kv.reads, 2, "one KV read per tenant, then the cache");
});

Deno.test("workerd handler: a bad configuration is a 500 JSON naming the problem, for every request", async () => {
  for (
    const [env, re] of [
      [{ TAUGATE_MODE: "deny" }, /TAUGATE_MODE/],
      [{ TAUGATE_ENGINE: "ort" }, /TAUGATE_ENGINE=ort is not in this build \(it has ts\)/],
    ] as const
  ) {
    const { h } = handler();
    for (let i = 0; i < 2; i++) {
      const res = await h.fetch(new Request("http://x/"), env);
      assert.equal(res.status, 500);
      const body = await res.json();
      assert.equal(body.error, "misconfigured");
      assert.match(body.reason, re);
    }
  }
});

Deno.test("workerd handler: without a TENANT_KV binding every tenant gets the global head", async () => {
  const { h } = handler();
  const res = await h.fetch(new Request("http://acme.example/"), {
    TAUGATE_MODE: "log",
    TAUGATE_EXPOSE: "on",
    TAUGATE_LOG_SAMPLE: "0",
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-taugate-head"), "global");
});
