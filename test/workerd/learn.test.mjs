// Learning mode on real workerd (Miniflare) with real Workers KV, bundled from the real entry
// (src/worker/workerd_ts.ts): two workers, two isolates, one KV namespace. The learning worker (log mode,
// TAUGATE_LEARN=on, a 1 s flush) writes its shard off the request path (waitUntil); the other worker's API
// reads it within the flush interval, applies fpr=0.01, and the learning worker's next request is scored
// with the new head; DELETE starts again. Client addresses come from cf-connecting-ip.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { bundleForNode, bundleWorker, COMPATIBILITY_DATE, ROOT, startMiniflare } from "./_helpers.mjs";

const ADMIN = "workerd-learn-token-0123456789abcdef0123";
const TENANT = "shop.learn.test";

let mf, dir, ref;

before(async () => {
  ref = await bundleForNode(`
    export { apiModelBytes, benignRecord, attackRecord } from "./test/api/_model.ts";
  `);
  dir = mkdtempSync(join(tmpdir(), "taugate-workerd-learn-"));
  const model = join(dir, "taugate.onnx");
  writeFileSync(model, ref.apiModelBytes());
  const ts = await bundleWorker({
    entry: join(ROOT, "src/worker/workerd_ts.ts"),
    files: { "taugate.onnx": model },
  });
  const worker = (name, routes, vars) => ({
    name,
    modules: ts.modules,
    modulesRoot: ROOT,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: {
      TAUGATE_EXPOSE: "on",
      TAUGATE_LOG_SAMPLE: "0",
      TAUGATE_LOG_FLAGGED_SAMPLE: "0",
      TAUGATE_ADMIN_TOKEN: ADMIN,
      ...vars,
    },
    kvNamespaces: { TENANT_KV: "kv-learn-shared" },
    routes,
  });
  mf = await startMiniflare({
    modules: undefined,
    workers: [
      worker("learner", ["*.learn.test/*"], {
        TAUGATE_MODE: "log",
        TAUGATE_LEARN: "on",
        TAUGATE_LEARN_FLUSH_S: "1",
      }),
      worker("admin", ["admin.other.test/*"], { TAUGATE_MODE: "block" }),
    ],
  });
});

after(async () => {
  await mf?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function api(path, { method = "GET", body } = {}) {
  const headers = { authorization: `Bearer ${ADMIN}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  return mf.dispatchFetch(`http://admin.other.test/_taugate/tenants/${TENANT}${path}`, {
    method,
    headers,
    body,
  });
}

async function send(rec, ip) {
  const res = await mf.dispatchFetch(`http://${TENANT}${rec.url}`, {
    method: rec.method,
    headers: { ...rec.headers, "cf-connecting-ip": ip },
    body: rec.body,
  });
  await res.arrayBuffer();
  return { decision: res.headers.get("x-taugate-decision"), head: res.headers.get("x-taugate-head") };
}

test("workerd: learning shards through waitUntil to Workers KV, read by another isolate's API, applied", async () => {
  const kv = await mf.getKVNamespace("TENANT_KV", "admin");
  for (let i = 0; i < 560; i++) {
    const d = await send(ref.benignRecord(2 * i), `198.51.100.${i % 200}`);
    assert.ok(d.decision === "allow" || d.decision === "would-block", "log mode blocks nothing");
  }
  // One client's flood: held to its share of what is learnt.
  for (let i = 0; i < 100; i++) await send(ref.attackRecord(i), "203.0.113.66");
  await sleep(1100);
  await send(ref.benignRecord(10_001), "198.51.100.7"); // its flush writes the shard (waitUntil)
  let shards = [];
  for (let t = 0; t < 50 && shards.length === 0; t++) {
    await sleep(100);
    shards = (await kv.list({ prefix: `learn/${TENANT}/shard/` })).keys;
  }
  assert.equal(shards.length, 1, "one shard for the learning isolate");

  let res = await api("/learning");
  assert.equal(res.status, 200);
  const l = await res.json();
  assert.equal(l.shards.live, false, "the admin worker learns nothing itself: all it sees is the shard");
  assert.equal(l.shards.read, 1);
  assert.equal(l.seen, 661);
  assert.ok(l.clients.capped >= 100 - 21, `capped ${l.clients.capped}`);
  assert.equal(l.clients.anonymous, 0);
  assert.equal(l.proposals.length, 3);

  res = await api("/learning/apply", { method: "POST", body: JSON.stringify({ fpr: 0.01 }) });
  const a = await res.json();
  assert.equal(res.status, 201, JSON.stringify(a));
  assert.equal(a.guard.passed, true);
  // The head is in KV; the learning isolate scores with it once its cached "no head" expires (10 s).
  assert.equal(JSON.parse(await kv.get(`head/${TENANT}`)).version, a.version);
  let head = null;
  for (let t = 0; t < 30 && head !== "tenant"; t++) {
    head = (await send(ref.benignRecord(1), "198.51.100.9")).head;
    if (head !== "tenant") await sleep(500);
  }
  assert.equal(head, "tenant");

  res = await api("/learning", { method: "DELETE" });
  assert.equal(res.status, 200);
  assert.equal((await kv.list({ prefix: `learn/${TENANT}/shard/` })).keys.length, 0);
  assert.ok(await kv.get(`learn/${TENANT}/epoch`));
});
