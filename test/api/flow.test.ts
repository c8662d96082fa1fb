// The tenant API through the standalone worker on Deno: upload, the tenant's next request scored with its
// head, other tenants unchanged, history, rollback, delete; on memory and on Deno KV.
import assert from "node:assert/strict";
import { headResultSchema, rollbackResultSchema, uploadResultSchema } from "../../src/api/schemas.ts";
import { MemoryTenantStore, type TenantStore } from "../../src/store/mod.ts";
import { DenoKvTenantStore } from "../../src/store/tenant_deno_kv.ts";
import { labelled, testWorld } from "./_app.ts";
import { API_MODEL_ID, attackRecord, benignRecord } from "./_model.ts";

/** A benign request the global head flags (a form POST), the tenant's usual false positive. */
const FALSE_POSITIVE = benignRecord(502);
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

function flow(name: string, makeStore: () => Promise<{ store: TenantStore; close?: () => void }>) {
  Deno.test(`tenant API flow (${name}): upload, next request, other tenants, history, rollback, delete`, async () => {
    const { store, close } = await makeStore();
    try {
      const w = testWorld({ store });
      const token = await w.mint("shop-a.test");

      const before = await w.send("shop-a.test", FALSE_POSITIVE);
      assert.equal(before.status, 403, "the global head blocks the tenant's false positive");
      assert.equal(before.head, "global");

      // Benign-only: "these were my false positives".
      const res1 = await w.upload("shop-a.test", labelled(range(20).map(benignRecord), 0), token);
      const up1 = uploadResultSchema.parse(await res1.json());
      assert.equal(res1.status, 201, JSON.stringify(up1));
      assert.deepEqual(up1.counts, { benign: 20, attack: 0, unlabeled: 0 });
      assert.equal(up1.tenant, "shop-a.test");
      assert.equal(up1.modelId, API_MODEL_ID);
      assert.equal(up1.previousVersion, null);
      assert.equal(up1.fit.method, "gd");
      assert.equal(up1.fit.steps, 20);
      assert.equal(
        (up1.fit as { endpoints?: number | null }).endpoints,
        null,
        "no residual: no endpoint limit",
      );
      assert.ok(Number.isFinite(up1.fit.loss) && up1.fit.loss > 0);
      // τ: where the new head catches the canaries as the global head does at the worker's τ.
      assert.equal(up1.tauSource, "canaries");
      const g = up1.guard;
      assert.ok(g.passed && !g.forced, JSON.stringify(g));
      assert.equal(g.canaries.count, 40);
      assert.equal(g.canaries.tau, up1.tau);
      assert.equal(g.canaries.globalTau, 0.5);
      assert.equal(g.canaries.tenant, g.canaries.global, "matched by construction");
      assert.equal(g.benign.count, 20);
      assert.ok(g.benign.tenant < g.benign.global, `benign flagged ${g.benign.global} → ${g.benign.tenant}`);

      const after = await w.send("shop-a.test", FALSE_POSITIVE);
      assert.equal(after.head, "tenant", "the next request uses the new head");
      assert.equal(after.status, 200);
      assert.ok(after.score < before.score && after.score < 0.5, `${before.score} → ${after.score}`);
      const attack = await w.send("shop-a.test", attackRecord(7));
      assert.equal(attack.status, 403, "attacks are still blocked for the tenant");

      const other = await w.send("shop-b.test", FALSE_POSITIVE);
      assert.equal(other.head, "global", "other tenants are unchanged");
      assert.equal(other.score, before.score);
      assert.equal(other.status, 403);

      const res2 = await w.upload(
        "shop-a.test",
        [...labelled(range(10, 100).map(benignRecord), 0), ...labelled(range(10, 100).map(attackRecord), 1)],
        token,
      );
      const up2 = uploadResultSchema.parse(await res2.json());
      assert.equal(res2.status, 201);
      assert.deepEqual(up2.counts, { benign: 10, attack: 10, unlabeled: 0 });
      assert.equal(up2.previousVersion, up1.version);
      assert.ok(up2.version > up1.version);
      const v2 = await w.send("shop-a.test", FALSE_POSITIVE);
      assert.equal(v2.head, "tenant");
      assert.notEqual(v2.score, after.score, "the second version scores differently");

      const got = headResultSchema.parse(await (await w.api("/tenants/shop-a.test/head", { token })).json());
      assert.equal(got.version, up2.version);
      assert.equal(got.createdAt, up2.createdAt);
      assert.deepEqual(got.counts, up2.counts);
      assert.deepEqual(got.guard, up2.guard);
      assert.equal(got.tau, up2.tau);
      assert.equal(got.tauSource, "canaries");
      assert.equal(got.stale, false);
      assert.deepEqual(got.history.map((h) => [h.version, h.active]), [[up1.version, false], [
        up2.version,
        true,
      ]]);
      assert.ok(!JSON.stringify(got).includes("/shop/"), "the examples are never stored or shown");

      const rb = await w.api("/tenants/shop-a.test/head/rollback", { method: "POST", token });
      assert.equal(rb.status, 200);
      assert.deepEqual(rollbackResultSchema.parse(await rb.json()), {
        tenant: "shop-a.test",
        version: up1.version,
        rolledBackFrom: up2.version,
        createdAt: up1.createdAt,
      });
      // A rollback deletes the version rolled back from (README): the history holds the first one alone.
      const afterRollback = headResultSchema.parse(
        await (await w.api("/tenants/shop-a.test/head", { token })).json(),
      );
      assert.deepEqual(afterRollback.history.map((h) => [h.version, h.active]), [[up1.version, true]]);
      const back = await w.send("shop-a.test", FALSE_POSITIVE);
      assert.equal(back.head, "tenant");
      assert.equal(back.score, after.score, "the first version scores again, exactly");
      const again = await w.api("/tenants/shop-a.test/head/rollback", { method: "POST", token });
      assert.equal(again.status, 409);
      assert.equal((await again.json()).error, "no_previous_version");

      const del = await w.api("/tenants/shop-a.test/head", { method: "DELETE", token });
      assert.equal(del.status, 200);
      assert.deepEqual(await del.json(), {
        tenant: "shop-a.test",
        deleted: true,
        removedVersions: [up1.version],
      });
      const gone = await w.send("shop-a.test", FALSE_POSITIVE);
      assert.equal(gone.head, "global", "back to the global head");
      assert.equal(gone.score, before.score);
      assert.equal(gone.status, 403);
      assert.equal((await w.api("/tenants/shop-a.test/head", { token })).status, 404);
      assert.equal((await w.api("/tenants/shop-a.test/head", { method: "DELETE", token })).status, 404);
      assert.deepEqual(await store.history("shop-a.test"), []);

      const actions = w.audit.filter((l) => l.includes('"taugate api"')).map((l) => JSON.parse(l).action);
      assert.deepEqual(actions, ["token-mint", "upload", "upload", "rollback", "delete"]);
      assert.ok(
        w.audit.every((l) => !l.includes(token) && !l.includes(token.slice(-64))),
        "tokens are never logged",
      );
    } finally {
      close?.();
    }
  });
}

flow("memory", () => Promise.resolve({ store: new MemoryTenantStore() }));
flow("Deno KV", async () => {
  const kv = await Deno.openKv(":memory:");
  return { store: new DenoKvTenantStore(kv), close: () => kv.close() };
});

Deno.test("tenant API: only the last N versions are kept", async () => {
  const w = testWorld({ env: { TAUGATE_HEAD_VERSIONS: "3" } });
  const versions: number[] = [];
  for (let k = 0; k < 5; k++) {
    const res = await w.upload("shop-a.test", labelled(range(4, 10 * k).map(benignRecord), 0));
    assert.equal(res.status, 201);
    versions.push((await res.json()).version);
  }
  assert.deepEqual((await w.store.history("shop-a.test")).map((d) => d.version), versions.slice(2));
  const doc = (await w.store.read("shop-a.test")).active!;
  assert.equal(doc.version, versions[4]);
  const bytes = new TextEncoder().encode(JSON.stringify(doc)).length;
  assert.ok(bytes < 4096, `a stored head is ${bytes} bytes`);
});

Deno.test("tenant API: a tenant's own τ is stored and used, but not one that blinds it", async () => {
  const w = testWorld();
  const blind = await w.upload(
    "shop-a.test",
    labelled(range(10).map(benignRecord), 0),
    undefined,
    "?tau=0.99",
  );
  assert.equal(blind.status, 422, "a τ that lets the canaries through is refused by the guard");
  const refused = await blind.json();
  assert.equal(refused.error, "guard_refused");
  assert.equal(refused.guard.canaries.tau, 0.99);
  assert.equal(refused.guard.canaries.passed, false);
  assert.equal((await w.store.read("shop-a.test")).active, null);

  const res = await w.upload("shop-a.test", labelled(range(10).map(benignRecord), 0), undefined, "?tau=0.3");
  const up = await res.json();
  assert.equal(res.status, 201, JSON.stringify(up));
  assert.equal(up.tau, 0.3);
  assert.equal(up.tauSource, "tenant");
  assert.equal(up.guard.canaries.tau, 0.3);
  assert.equal((await w.store.read("shop-a.test")).active?.tau, 0.3);
  const got = await (await w.api("/tenants/shop-a.test/head")).json();
  assert.equal(got.tau, 0.3);
  assert.equal(got.tauSource, "tenant");
  const dry = await w.api("/tenants/shop-a.test/score?explain=0", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify([benignRecord(3)]),
  });
  assert.equal((await dry.json()).tau, 0.3);
});

Deno.test("tenant API: records without a label are the tenant's unlabelled traffic", async () => {
  const w = testWorld();
  const records = [...labelled(range(5).map(benignRecord), 0), ...range(5, 50).map(benignRecord)];
  const res = await w.upload("shop-a.test", records);
  const up = await res.json();
  assert.equal(res.status, 201, JSON.stringify(up));
  assert.deepEqual(up.counts, { benign: 5, attack: 0, unlabeled: 5 });
  const none = await w.upload("shop-a.test", range(5).map(benignRecord));
  assert.equal(none.status, 422);
  assert.equal((await none.json()).error, "no_labelled_record");
  const filled = await w.upload("shop-a.test", range(5).map(benignRecord), undefined, "?label=0");
  assert.deepEqual(
    (await filled.json()).counts,
    { benign: 5, attack: 0, unlabeled: 0 },
    "label fills them in",
  );
});
