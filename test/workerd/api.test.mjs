// The tenant API on real workerd (Miniflare) with real Workers KV, bundled from the real entries
// (src/worker/workerd.ts with onnxruntime-web, src/worker/workerd_ts.ts with the TypeScript engine): upload,
// the tenant's next request scored with its head, other tenants unchanged, rollback, delete, auth; the same
// head as Deno fits from the same records; the KV key layout.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { bundleForNode, bundleWorker, COMPATIBILITY_DATE, ROOT, startMiniflare } from "./_helpers.mjs";

const ADMIN = "workerd-operator-token-0123456789abcdef";

let mf, dir, ref;

before(async () => {
  ref = await bundleForNode(`
    export { apiModelBytes, benignRecord, attackRecord, TEST_ADAPT } from "./test/api/_model.ts";
    export { createTsEngine } from "./src/model/mod.ts";
    export { fitTenantHead } from "./src/api/fit.ts";
    export { headToJson } from "./src/store/mod.ts";
  `);
  dir = mkdtempSync(join(tmpdir(), "taugate-workerd-api-"));
  const model = join(dir, "taugate.onnx");
  writeFileSync(model, ref.apiModelBytes());
  const files = { "taugate.onnx": model };
  const [ort, ts] = await Promise.all([
    bundleWorker({ entry: join(ROOT, "src/worker/workerd.ts"), files }),
    bundleWorker({ entry: join(ROOT, "src/worker/workerd_ts.ts"), files }),
  ]);
  const worker = (name, modules, routes, vars = {}) => ({
    name,
    modules,
    modulesRoot: ROOT,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: {
      TAUGATE_EXPOSE: "on",
      TAUGATE_MODE: "block",
      TAUGATE_LOG_SAMPLE: "0",
      TAUGATE_LOG_FLAGGED_SAMPLE: "0",
      TAUGATE_ADMIN_TOKEN: ADMIN,
      ...vars,
    },
    kvNamespaces: { TENANT_KV: `kv-${name}` },
    routes,
  });
  mf = await startMiniflare({
    modules: undefined,
    workers: [
      worker("ort", ort.modules, ["*.ort.test/*"]),
      worker("free", ts.modules, ["*.free.test/*"]),
      worker("off", ts.modules, ["*.off.test/*"], { TAUGATE_ADMIN_TOKEN: "" }),
    ],
  });
});

after(async () => {
  await mf?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const range = (n, from = 0) => Array.from({ length: n }, (_, i) => from + i);
const labelled = (records, label) => records.map((r) => ({ ...r, label }));

/** A request to the API of one build. */
function api(build, path, { token = ADMIN, method = "GET", body, type } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (type) headers["content-type"] = type;
  return mf.dispatchFetch(`http://admin.${build}.test/_taugate${path}`, { method, headers, body });
}

/** A record sent as a real request to a tenant's host. */
async function send(host, rec) {
  const res = await mf.dispatchFetch(`http://${host}${rec.url}`, {
    method: rec.method,
    headers: rec.headers,
    body: rec.body,
  });
  await res.arrayBuffer();
  return {
    status: res.status,
    score: Number(res.headers.get("x-taugate-score")),
    head: res.headers.get("x-taugate-head"),
  };
}

for (const build of ["ort", "free"]) {
  test(`workerd (${build}): upload, next request, other tenants, rollback, delete, on Workers KV`, async () => {
    const tenant = `shop-a.${build}.test`, other = `shop-b.${build}.test`;
    const minted = await api(build, `/tenants/${tenant}/tokens`, { method: "POST" });
    assert.equal(minted.status, 201);
    const { token, id } = await minted.json();

    const fp = ref.benignRecord(502);
    const before = await send(tenant, fp);
    assert.equal(before.status, 403, "the global head blocks the tenant's false positive");
    assert.equal(before.head, "global");

    const jsonl = (records) => records.map((r) => JSON.stringify(r)).join("\n");
    const benign = labelled(range(20).map(ref.benignRecord), 0);
    const res1 = await api(build, `/tenants/${tenant}/examples`, {
      token,
      method: "POST",
      type: "application/x-ndjson",
      body: jsonl(benign),
    });
    const up1 = await res1.json();
    assert.equal(res1.status, 201, JSON.stringify(up1));
    assert.deepEqual(up1.counts, { benign: 20, attack: 0, unlabeled: 0 });
    assert.equal(up1.guard.passed, true);

    // The same head as the function Deno (and eval) fits with, from the same records, on the TS engine.
    const engine = ref.createTsEngine(ref.apiModelBytes());
    const fit = await ref.fitTenantHead(engine, engine.head, ref.TEST_ADAPT, benign);
    const kv = await mf.getKVNamespace("TENANT_KV", build);
    const stored = JSON.parse(await kv.get(`head/${tenant}`));
    assert.equal(stored.version, up1.version);
    const want = ref.headToJson(fit.head);
    if (build === "free") assert.deepEqual(stored.head, want, "bit for bit with the TS engine");
    else {
      for (let j = 0; j < want.w.length; j++) assert.ok(Math.abs(stored.head.w[j] - want.w[j]) < 1e-5);
    }

    const after = await send(tenant, fp);
    assert.equal(after.head, "tenant", "the tenant's next request uses its new head");
    assert.equal(after.status, 200);
    assert.ok(after.score < before.score);
    assert.equal((await send(tenant, ref.attackRecord(3))).status, 403, "attacks are still blocked");
    const untouched = await send(other, fp);
    assert.equal(untouched.head, "global");
    assert.equal(untouched.status, 403);

    const res2 = await api(build, `/tenants/${tenant}/examples?label=0`, {
      token,
      method: "POST",
      type: "application/json",
      body: JSON.stringify(range(12, 40).map(ref.benignRecord)),
    });
    const up2 = await res2.json();
    assert.equal(res2.status, 201, JSON.stringify(up2));
    assert.equal(up2.previousVersion, up1.version);

    const head = await (await api(build, `/tenants/${tenant}/head`, { token })).json();
    assert.equal(head.version, up2.version);
    assert.deepEqual(head.history.map((h) => h.version), [up1.version, up2.version]);
    const keys = (await kv.list()).keys.map((k) => k.name).sort();
    assert.deepEqual(keys, [
      `head/${tenant}`,
      `history/${tenant}/${up1.version}`,
      `history/${tenant}/${up2.version}`,
      `token/${id}`,
    ]);
    const tokenRecord = await kv.get(`token/${id}`);
    assert.ok(!tokenRecord.includes(token.slice(21)), "only the token's hash is stored");

    const rb = await api(build, `/tenants/${tenant}/head/rollback`, { token, method: "POST" });
    assert.equal(rb.status, 200);
    assert.equal((await rb.json()).version, up1.version);
    const back = await send(tenant, fp);
    assert.equal(back.head, "tenant");
    assert.equal(back.score, after.score, "the first version scores again");

    const del = await api(build, `/tenants/${tenant}/head`, { token, method: "DELETE" });
    assert.equal(del.status, 200);
    const gone = await send(tenant, fp);
    assert.equal(gone.head, "global");
    assert.equal(gone.status, 403);
    assert.deepEqual((await kv.list()).keys.map((k) => k.name), [`token/${id}`]);
  });
}

test("workerd: missing, wrong and other-tenant tokens get 401 and 403; the API is never scored", async () => {
  const a = await (await api("free", "/tenants/a.free.test/tokens", { method: "POST" })).json();
  const body = JSON.stringify([{ method: "GET", url: "/?q=<script>", label: 1 }]);
  const post = (token, tenant = "a.free.test") =>
    api("free", `/tenants/${tenant}/examples`, { token, method: "POST", type: "application/json", body });
  for (const [token, status] of [[null, 401], ["wrong-token-wrong-token-wrong-token", 401], [a.token, 201]]) {
    const res = await post(token);
    assert.equal(res.status, status, String(token));
    assert.equal(res.headers.get("x-taugate-decision"), null);
    await res.arrayBuffer();
  }
  const other = await post(a.token, "b.free.test");
  assert.equal(other.status, 403);
  assert.equal((await other.json()).error, "forbidden");
  assert.equal(
    (await api("free", "/tenants/b.free.test/tokens", { token: a.token, method: "POST" })).status,
    403,
  );
  assert.equal((await api("free", "/tenants/Not_A_Host/head")).status, 400);
  const doc = await api("free", "/openapi.json", { token: null });
  assert.equal(doc.status, 200);
  assert.equal((await doc.json()).openapi, "3.1.0");
});

test("workerd: without TAUGATE_ADMIN_TOKEN the API is off: /_taugate is scored, then 403, never served", async () => {
  const res = await mf.dispatchFetch("http://shop.off.test/_taugate/tenants/shop.off.test/head", {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  assert.ok(res.headers.get("x-taugate-decision") !== null, "scored by the middleware");
  assert.equal(res.status, 403);
  const body = await res.json();
  // Blocked by the score, or answered api_disabled: either way never served by an API or an origin.
  assert.ok(["blocked", "api_disabled"].includes(body.error), JSON.stringify(body));
  assert.ok(!JSON.stringify(body).includes(ADMIN), "the token is not echoed");
});
