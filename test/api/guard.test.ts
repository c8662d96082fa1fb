// The guard, determinism (the same records give the same head, the one `adaptHead` gives as eval calls it),
// and concurrent uploads (never a corrupt or mixed head).
import assert from "node:assert/strict";
import { fitTenantHead } from "../../src/api/fit.ts";
import { canaryMatchedTau } from "../../src/api/calibrate.ts";
import { detectionRate, guardCheck } from "../../src/api/guard.ts";
import { canaryEmbeddings, canarySet } from "../../src/api/model.ts";
import { featuresOfRecord } from "../../src/features/mod.ts";
import { adaptHead, type HeadExample } from "../../src/heads/adapt.ts";
import { createTsEngine } from "../../src/model/mod.ts";
import type { RequestRecord } from "../../src/record/record.ts";
import { headToJson, type TenantStore, WorkersKvTenantStore } from "../../src/store/mod.ts";
import { DenoKvTenantStore } from "../../src/store/tenant_deno_kv.ts";
import { FakeListableKv } from "./_kv.ts";
import { ADMIN, labelled, testWorld } from "./_app.ts";
import { apiModelBytes, attackRecord, benignRecord, canaryRecords, TEST_ADAPT } from "./_model.ts";

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

/** Benign requests of the test shop that the global head scores low (GETs of pages and searches). */
const clean = (n: number) =>
  range(4 * n).filter((i) => i % 4 < 2).slice(0, n).map((i) => benignRecord(100 + i));
/** Adaptation settings strong enough for mislabelled examples to bend the test model's head. */
const PLIABLE = { method: "gd", steps: 50, lr: 3, prox: 0 };

Deno.test("guard: a mislabelled upload (attacks among the benign) is refused with its figures; the head stays", async () => {
  const w = testWorld({ modelMeta: { adapt: PLIABLE } });
  const token = await w.mint("shop-a.test");
  const first = await w.upload("shop-a.test", labelled(clean(10), 0), token);
  assert.equal(first.status, 201);
  const v1 = (await first.json()).version;

  // The tenant's own benign requests, with attacks mislabelled (or slipped in) as benign.
  const poison = labelled([...clean(20), ...range(20).map(attackRecord)], 0);
  const res = await w.upload("shop-a.test", poison, token);
  assert.equal(res.status, 422);
  const body = await res.json();
  assert.equal(body.error, "guard_refused");
  assert.equal(body.guard.passed, false);
  assert.equal(body.guard.forced, false);
  assert.equal(body.guard.margin, 0.05);
  assert.equal(body.guard.canaries.count, canaryRecords().length);
  assert.equal(body.guard.canaries.global, 1);
  // Keeping the canaries caught takes a τ so low that the tenant's own benign requests are flagged.
  assert.equal(body.guard.benign.passed, false);
  assert.ok(body.guard.benign.rise > body.guard.margin, JSON.stringify(body.guard));
  assert.match(body.reason, /benign requests \(out of fold\)/);
  assert.deepEqual(body.counts, { benign: 40, attack: 0, unlabeled: 0 });
  assert.equal((await w.store.read("shop-a.test")).active?.version, v1, "the stored head did not change");
  assert.equal((await w.store.history("shop-a.test")).length, 1);

  // The operator may force it; the head records that it was forced.
  const forced = await w.upload("shop-a.test", poison, ADMIN, "?force=1");
  assert.equal(forced.status, 201);
  const f = await forced.json();
  assert.equal(f.guard.passed, false);
  assert.equal(f.guard.forced, true);
  const got = await (await w.api("/tenants/shop-a.test/head", { token })).json();
  assert.equal(got.guard.forced, true);
  assert.equal((await w.store.read("shop-a.test")).active?.by, "operator");
  // Forcing a head that passes changes nothing: forced means "stored although refused".
  const fine = await w.upload("shop-a.test", labelled(clean(10), 0), ADMIN, "?force=1");
  assert.equal((await fine.json()).guard.forced, false);
});

Deno.test("guard: attacks alone labelled benign cannot blind the tenant: its τ keeps the canaries caught", async () => {
  const w = testWorld();
  const res = await w.upload("shop-a.test", labelled(range(20).map(attackRecord), 0));
  const body = await res.json();
  // Nothing of the tenant's own traffic to flag, so the guard lets it be; the head it stores still catches
  // the canary attacks as the global head does, and attacks like the ones uploaded.
  assert.equal(res.status, 201, JSON.stringify(body));
  assert.equal(body.guard.canaries.tenant, body.guard.canaries.global);
  for (const i of range(10, 500)) {
    assert.equal((await w.send("shop-a.test", attackRecord(i))).status, 403, `attack ${i}`);
  }
});

Deno.test("guard: the margin is a setting (TAUGATE_GUARD_MARGIN), and is stated in every answer", async () => {
  const w = testWorld({ env: { TAUGATE_GUARD_MARGIN: "1" } });
  const res = await w.upload(
    "shop-a.test",
    labelled([...range(20).map(benignRecord), ...range(20).map(attackRecord)], 0),
  );
  assert.equal(res.status, 201, "a margin of 1 lets anything through");
  assert.equal((await res.json()).guard.margin, 1);
});

Deno.test("guard: canary detection and benign flagged, each at its head's τ", () => {
  const z = [new Float32Array([1, 0]), new Float32Array([0.5, 0]), new Float32Array([0, 1])];
  const global = { head: { w: new Float32Array([4, 0]), b: -1 }, tau: 0.5 };
  const none = { z: [], outOfFold: null };
  const same = guardCheck({ canaries: z, global, tenant: global, benign: none }, 0.05, false);
  assert.deepEqual(
    [same.canaries.global, same.canaries.tenant, same.canaries.drop, same.passed],
    [2 / 3, 2 / 3, 0, true],
  );
  assert.equal(same.benign.count, 0, "no benign check without out-of-fold scores");
  const lower = { head: { w: new Float32Array([4, 0]), b: -3 }, tau: 0.5 };
  const worse = guardCheck({ canaries: z, global, tenant: lower, benign: none }, 0.05, false);
  assert.deepEqual(
    [worse.canaries.tenant, worse.canaries.passed, worse.passed, worse.forced],
    [1 / 3, false, false, false],
  );
  const blind = { head: global.head, tau: 0.99 };
  assert.equal(guardCheck({ canaries: z, global, tenant: blind, benign: none }, 0.05, true).forced, true);
  const margin = guardCheck(
    { canaries: z, global, tenant: { head: global.head, tau: 0.7 }, benign: none },
    1 / 3,
    false,
  );
  assert.equal(margin.passed, true, "a change of exactly the margin passes");
  // Benign: the global head flags 1 of 4 at its τ; out-of-fold scores of the new head flag 3 of 4 at its τ.
  const benign = { z: [0, 0, 0, 1].map((x) => new Float32Array([x, 0])), outOfFold: [0.9, 0.8, 0.7, 0.1] };
  const flags = guardCheck(
    { canaries: z, global, tenant: { head: global.head, tau: 0.5 }, benign },
    0.05,
    false,
  );
  assert.deepEqual(
    [flags.benign.count, flags.benign.global, flags.benign.tenant, flags.benign.rise],
    [4, 0.25, 0.75, 0.5],
  );
  assert.deepEqual([flags.canaries.passed, flags.benign.passed, flags.passed], [true, false, false]);
  // One request of slack: of 10 benign examples, one more flagged passes, two do not.
  const ten = Array.from({ length: 10 }, () => new Float32Array([0, 0]));
  const oof = (hits: number) => Array.from({ length: 10 }, (_, i) => (i < hits ? 0.9 : 0.1));
  const check = (hits: number) =>
    guardCheck({ canaries: z, global, tenant: global, benign: { z: ten, outOfFold: oof(hits) } }, 0.05, false)
      .benign;
  assert.deepEqual([check(1).rise, check(1).passed], [0.1, true]);
  assert.deepEqual([check(2).rise, check(2).passed], [0.2, false]);
});

Deno.test("canaryMatchedTau: the new head catches the global head's share of the canaries", () => {
  const head = { w: new Float32Array([1]), b: 0 };
  const canaries = [-1, 0, 1, 2].map((x) => new Float32Array([x]));
  const s = (x: number) => 1 / (1 + Math.exp(-x));
  assert.equal(canaryMatchedTau(head, canaries, 0.5), s(1));
  assert.equal(canaryMatchedTau(head, canaries, 0.6), s(0), "at least the share");
  assert.equal(canaryMatchedTau(head, canaries, 1), s(-1));
  const t0 = canaryMatchedTau(head, canaries, 0);
  assert.ok(t0 > s(2) && t0 < s(2) + 1e-12, "none: just above the highest");
  for (const d of [0, 0.25, 0.5, 0.75, 1]) {
    assert.equal(detectionRate(head, canaries, canaryMatchedTau(head, canaries, d)), d);
  }
});

Deno.test("guard: a model without adaptation settings or canaries cannot fit heads (503, named)", async () => {
  for (
    const [meta, what] of [[{ adapt: undefined }, /meta\.adapt/], [{ canary: undefined }, /canary/], [
      { canary: [[1, 2]] },
      /canary 0/,
    ], [{ adapt: { method: "gd", steps: -1, lr: 1, prox: 0 } }, /steps/]] as const
  ) {
    const w = testWorld({ modelMeta: meta });
    const res = await w.upload("shop-a.test", labelled([benignRecord(1)], 0));
    assert.equal(res.status, 503);
    const body = await res.json();
    assert.equal(body.error, "model_unsupported");
    assert.match(body.reason, what);
  }
});

Deno.test("canaries: as records or as embeddings, the same set", async () => {
  const asRecords = createTsEngine(apiModelBytes());
  const zs = await canaryEmbeddings(asRecords);
  assert.equal(zs.length, canaryRecords().length);
  const asZ = createTsEngine(apiModelBytes({ canary: zs.map((z) => Array.from(z)) }));
  assert.deepEqual(await canaryEmbeddings(asZ), zs);
  const wrapped = createTsEngine(
    apiModelBytes({ canary: undefined, canaries: { z: zs.map((z) => Array.from(z)) } }),
  );
  assert.deepEqual(await canaryEmbeddings(wrapped), zs);
  // Records under `canary.records` (the shipped form): the same embeddings, and their features for the guard.
  const shipped = await canarySet(createTsEngine(apiModelBytes({ canary: { records: canaryRecords() } })));
  assert.deepEqual(shipped.z, zs);
  assert.equal(shipped.features?.length, zs.length);
  assert.equal((await canarySet(asZ)).features, null, "embeddings alone carry no features");
});

Deno.test("determinism: the same records give the same head, bit for bit, and it is adaptHead's", async () => {
  const records = [...labelled(range(12).map(benignRecord), 0), ...labelled(range(6).map(attackRecord), 1)];
  const heads: string[] = [];
  for (const world of [testWorld(), testWorld(), testWorld()]) {
    for (const tenant of ["shop-a.test", "shop-b.test"]) {
      const res = await world.upload(tenant, records);
      assert.equal(res.status, 201);
      heads.push(JSON.stringify((await world.store.read(tenant)).active!.head));
    }
  }
  assert.equal(new Set(heads).size, 1, "six uploads, one head");

  // The very call `deno task eval` makes: adaptHead(meta head, examples in order, meta.adapt, { unlabeled }).
  const engine = createTsEngine(apiModelBytes());
  const examples: HeadExample[] = records.map((r) => ({
    z: engine.embedSync(featuresOfRecord(r)).slice(),
    label: r.label!,
  }));
  const direct = adaptHead(engine.head, examples, TEST_ADAPT, { unlabeled: [] });
  assert.equal(heads[0], JSON.stringify(headToJson(direct.head)));
  const fit = await fitTenantHead(engine, engine.head, TEST_ADAPT, records);
  assert.equal(JSON.stringify(headToJson(fit.head)), heads[0]);
  assert.equal(fit.loss, direct.loss);
});

function concurrent(
  name: string,
  make: () => Promise<{ a: TenantStore; b: TenantStore; close?: () => void }>,
) {
  Deno.test(`concurrency (${name}): uploads at once leave one complete head, exactly one of theirs`, async () => {
    const { a, b, close } = await make();
    try {
      // Two isolates (two apps) over one storage, and two uploads at once in each.
      const w1 = testWorld({ store: a }), w2 = testWorld({ store: b });
      const sets: RequestRecord[][] = [
        labelled(range(10).map(benignRecord), 0),
        [...labelled(range(8, 50).map(benignRecord), 0), ...labelled(range(5).map(attackRecord), 1)],
        labelled(range(15, 200).map(benignRecord), 0),
        [...labelled(range(6, 300).map(benignRecord), 0), ...labelled(range(6, 30).map(attackRecord), 1)],
      ];
      const engine = createTsEngine(apiModelBytes());
      const expected = await Promise.all(
        sets.map(async (s) =>
          JSON.stringify(headToJson((await fitTenantHead(engine, engine.head, TEST_ADAPT, s)).head))
        ),
      );
      const results = await Promise.all(sets.map((s, i) => (i % 2 ? w2 : w1).upload("shop-a.test", s)));
      const ok = [];
      for (const r of results) {
        const body = await r.json();
        assert.ok(
          r.status === 201 || (r.status === 409 && body.error === "conflict"),
          `${r.status} ${JSON.stringify(body)}`,
        );
        if (r.status === 201) ok.push(body.version);
      }
      assert.ok(ok.length >= 2, `${ok.length} of 4 uploads stored`);
      assert.equal(new Set(ok).size, ok.length, "versions are never reused");
      const active = (await a.read("shop-a.test")).active!;
      assert.ok(
        expected.includes(JSON.stringify(active.head)),
        "the active head is exactly one upload's head",
      );
      assert.ok(ok.includes(active.version));
      const history = await a.history("shop-a.test");
      for (const d of history) {
        assert.ok(expected.includes(JSON.stringify(d.head)), `version ${d.version} is one upload's head`);
      }
      if (a.atomic) {
        assert.equal(active.version, Math.max(...ok), "with compare-and-set the newest version is active");
        assert.deepEqual(
          history.map((d) => d.version),
          [...ok].sort((x, y) => x - y),
          "and every stored version is kept",
        );
      }
    } finally {
      close?.();
    }
  });
}

/**
 * Wraps two stores so that each one's first `read` waits for the other's: both isolates then commit on the
 * same stamp, and one commit must be refused. Counts refused commits.
 */
function racing(a: TenantStore, b: TenantStore): { a: TenantStore; b: TenantStore; refused: () => number } {
  let refused = 0, arrived = 0;
  let release!: () => void;
  const both = new Promise<void>((r) => release = r);
  const wrap = (s: TenantStore): TenantStore => {
    let first = true;
    return {
      kind: s.kind,
      atomic: s.atomic,
      heads: s.heads,
      learning: s.learning,
      async read(tenant) {
        const snap = await s.read(tenant);
        if (first) {
          first = false;
          if (++arrived === 2) release();
          await both;
        }
        return snap;
      },
      history: (tenant) => s.history(tenant),
      async commit(tenant, change, stamp) {
        const ok = await s.commit(tenant, change, stamp);
        if (!ok) refused++;
        return ok;
      },
      getToken: (id) => s.getToken(id),
      putToken: (id, rec) => s.putToken(id, rec),
      deleteToken: (id) => s.deleteToken(id),
    };
  };
  return { a: wrap(a), b: wrap(b), refused: () => refused };
}

// Two apps (two isolates, each with its own per-tenant lock) over one Deno KV: only its atomic check orders them.
let denoRefused = () => 0;
concurrent("Deno KV, two isolates", async () => {
  const kv = await Deno.openKv(":memory:");
  const r = racing(new DenoKvTenantStore(kv), new DenoKvTenantStore(kv));
  denoRefused = r.refused;
  return { a: r.a, b: r.b, close: () => kv.close() };
});
Deno.test("concurrency (Deno KV): the race above did happen, and the stale commit was refused", () => {
  assert.ok(denoRefused() >= 1, `${denoRefused()} commits refused`);
});
concurrent("Workers KV, two isolates", () => {
  const kv = new FakeListableKv();
  // Each KV call answers after a random delay, so the two isolates' writes interleave.
  for (const m of ["get", "put", "delete", "list"] as const) {
    const f = kv[m].bind(kv) as (...a: unknown[]) => Promise<unknown>;
    (kv as unknown as Record<string, unknown>)[m] = (...args: unknown[]) =>
      new Promise((r) => setTimeout(r, Math.random() * 3)).then(() => f(...args));
  }
  return Promise.resolve({ a: new WorkersKvTenantStore(kv), b: new WorkersKvTenantStore(kv) });
});
