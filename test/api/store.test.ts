import assert from "node:assert/strict";
import {
  historyHeadKey,
  MemoryTenantStore,
  type StoredHead,
  type TenantStore,
  WorkersKvTenantStore,
} from "../../src/store/mod.ts";
import { DenoKvTenantStore } from "../../src/store/tenant_deno_kv.ts";
import { FakeListableKv } from "./_kv.ts";
import { LearnState } from "../../src/learn/state.ts";
import { shardOf } from "../../src/learn/shard.ts";

const doc = (version: number, extra: Partial<StoredHead> = {}): StoredHead => ({
  version,
  head: { w: [0.5, -0.25], b: -1 },
  createdAt: "2026-11-29T12:00:00.000Z",
  ...extra,
});
const HASH = "a".repeat(64);

async function contract(
  name: string,
  atomic: boolean,
  make: () => Promise<{ store: TenantStore; close?: () => void }>,
) {
  await Deno.test(`${name}: commit writes history and the active head that its HeadStore reads`, async () => {
    const { store, close } = await make();
    try {
      assert.equal(store.atomic, atomic);
      const s0 = await store.read("shop-1");
      assert.equal(s0.active, null);
      assert.deepEqual(await store.history("shop-1"), []);
      assert.equal(await store.commit("shop-1", { active: doc(1), putHistory: doc(1) }, s0.stamp), true);
      const s1 = await store.read("shop-1");
      assert.deepEqual(s1.active, doc(1));
      assert.deepEqual(await store.heads.get("shop-1"), doc(1), "the hot path sees the same head");
      assert.equal(
        await store.commit("shop-1", { active: doc(2, { tau: 0.7 }), putHistory: doc(2) }, s1.stamp),
        true,
      );
      await store.commit("shop-1", { putHistory: doc(10) }, (await store.read("shop-1")).stamp);
      assert.deepEqual((await store.history("shop-1")).map((d) => d.version), [1, 2, 10], "in version order");
      assert.equal((await store.heads.get("shop-1"))?.tau, 0.7);
      assert.equal(await store.heads.get("shop-2"), null, "tenants are separate");
      const s2 = await store.read("shop-1");
      assert.equal(await store.commit("shop-1", { active: null, deleteHistory: [1, 2, 10] }, s2.stamp), true);
      assert.equal((await store.read("shop-1")).active, null);
      assert.deepEqual(await store.history("shop-1"), []);
    } finally {
      close?.();
    }
  });

  await Deno.test(`${name}: tokens round-trip by id; ids and tenants are checked`, async () => {
    const { store, close } = await make();
    try {
      const id = "0123456789abcdef";
      assert.equal(await store.getToken(id), null);
      await store.putToken(id, { tenant: "shop-1", hash: HASH, createdAt: "2026-11-29T12:00:00.000Z" });
      assert.deepEqual(await store.getToken(id), {
        tenant: "shop-1",
        hash: HASH,
        createdAt: "2026-11-29T12:00:00.000Z",
      });
      await store.deleteToken(id);
      assert.equal(await store.getToken(id), null);
      await assert.rejects(() => store.getToken("../head/x"), RangeError);
      await assert.rejects(() => store.read("Bad/Tenant"), RangeError);
      await assert.rejects(
        () => store.putToken(id, { tenant: "x", hash: "nope", createdAt: "t" }),
        TypeError,
      );
      await assert.rejects(
        () => store.commit("shop-1", { active: { version: 0 } as unknown as StoredHead }, null),
        TypeError,
        "an invalid document is refused",
      );
      assert.equal((await store.read("shop-1")).active, null, "and nothing was written");
    } finally {
      close?.();
    }
  });

  if (atomic) {
    await Deno.test(`${name}: a commit on a stale read is refused and writes nothing`, async () => {
      const { store, close } = await make();
      try {
        const s0 = await store.read("shop-1");
        assert.equal(await store.commit("shop-1", { active: doc(1), putHistory: doc(1) }, s0.stamp), true);
        assert.equal(await store.commit("shop-1", { active: doc(2), putHistory: doc(2) }, s0.stamp), false);
        assert.deepEqual((await store.read("shop-1")).active, doc(1));
        assert.deepEqual((await store.history("shop-1")).map((d) => d.version), [1]);
      } finally {
        close?.();
      }
    });
  }
}

/** The learning part of the contract: shards by tenant, whole, cleared; epochs; garbage skipped. */
async function learningContract(
  name: string,
  make: () => Promise<{ store: TenantStore; close?: () => void }>,
) {
  await Deno.test(`${name}: learning shards and epochs are kept per tenant`, async () => {
    const { store, close } = await make();
    try {
      const l = store.learning;
      const state = new LearnState();
      for (let i = 0; i < 40; i++) {
        state.observe(
          { logit: -2, flagged: false, structure: [i % 7, 100 + i], nStructure: 2, client: null },
          { a: new Float32Array(8), profile: null, weight: 1 },
          1_000 + i,
        );
      }
      await l.putShard("shop.example.com", shardOf("shop.example.com", "iso-0", state), 3600);
      await l.putShard("shop.example.com", shardOf("shop.example.com", "iso-1", state), 3600);
      await l.putShard("shop.example.co", shardOf("shop.example.co", "iso-0", state), 3600);
      // A second write of a shard replaces it.
      state.observe({ logit: 1, flagged: false, structure: [1], nStructure: 1, client: null }, {
        a: new Float32Array(8),
        profile: null,
        weight: 1,
      }, 2_000);
      await l.putShard("shop.example.com", shardOf("shop.example.com", "iso-1", state), 3600);
      const got = await l.shards("shop.example.com");
      assert.equal(got.invalid, 0);
      assert.deepEqual(got.shards.map((s) => [s.shard, s.learnt]).sort(), [["iso-0", 40], ["iso-1", 41]]);
      assert.equal((await l.shards("shop.example.co")).shards.length, 1, "a tenant's prefix is its own");
      assert.equal(await l.getEpoch("shop.example.com"), null);
      await l.putEpoch("shop.example.com", { epoch: "e1", since: 5 });
      assert.deepEqual(await l.getEpoch("shop.example.com"), { epoch: "e1", since: 5 });
      assert.equal(await l.clearShards("shop.example.com"), 2);
      assert.equal((await l.shards("shop.example.com")).shards.length, 0);
      assert.equal((await l.shards("shop.example.co")).shards.length, 1);
      await assert.rejects(() => l.shards("../x"), RangeError);
      await assert.rejects(
        () => l.putShard("shop.example.com", { ...shardOf("shop.example.com", "x", state), learnt: -1 }, 60),
        TypeError,
      );
    } finally {
      close?.();
    }
  });
}

await learningContract("MemoryTenantStore", () => Promise.resolve({ store: new MemoryTenantStore() }));
await learningContract("DenoKvTenantStore", async () => {
  const kv = await Deno.openKv(":memory:");
  return { store: new DenoKvTenantStore(kv), close: () => kv.close() };
});
await learningContract(
  "WorkersKvTenantStore",
  () => Promise.resolve({ store: new WorkersKvTenantStore(new FakeListableKv()) }),
);

Deno.test("WorkersKvTenantStore: learning keys, a garbage shard skipped and counted", async () => {
  const kv = new FakeListableKv();
  const store = new WorkersKvTenantStore(kv);
  const state = new LearnState();
  state.observe({ logit: 0, flagged: false, structure: [1], nStructure: 1, client: null }, {
    a: new Float32Array(8),
    profile: null,
    weight: 1,
  }, 1);
  await store.learning.putShard("shop.example.com", shardOf("shop.example.com", "iso-0", state), 60);
  await store.learning.putEpoch("shop.example.com", { epoch: "e", since: 1 });
  kv.data.set("learn/shop.example.com/shard/bad", "{not json");
  assert.deepEqual([...kv.data.keys()].sort(), [
    "learn/shop.example.com/epoch",
    "learn/shop.example.com/shard/bad",
    "learn/shop.example.com/shard/iso-0",
  ]);
  const got = await store.learning.shards("shop.example.com");
  assert.equal(got.shards.length, 1);
  assert.equal(got.invalid, 1);
});

await contract("MemoryTenantStore", true, () => Promise.resolve({ store: new MemoryTenantStore() }));
await contract("DenoKvTenantStore", true, async () => {
  const kv = await Deno.openKv(":memory:");
  return { store: new DenoKvTenantStore(kv), close: () => kv.close() };
});
await contract(
  "WorkersKvTenantStore",
  false,
  () => Promise.resolve({ store: new WorkersKvTenantStore(new FakeListableKv()) }),
);

Deno.test("WorkersKvTenantStore: the key layout, and history listed across pages", async () => {
  const kv = new FakeListableKv();
  const store = new WorkersKvTenantStore(kv);
  for (const v of [3, 1, 2, 1764423456789123]) {
    await store.commit("shop.example.com", { active: doc(v), putHistory: doc(v) }, null);
  }
  await store.commit("shop.example.co", { active: doc(9), putHistory: doc(9) }, null);
  await store.putToken("00000000000000ff", { tenant: "shop.example.com", hash: HASH, createdAt: "t" });
  assert.deepEqual([...kv.data.keys()].sort(), [
    "head/shop.example.co",
    "head/shop.example.com",
    historyHeadKey("shop.example.co", 9),
    historyHeadKey("shop.example.com", 1),
    historyHeadKey("shop.example.com", 2),
    historyHeadKey("shop.example.com", 3),
    "history/shop.example.com/1764423456789123",
    "token/00000000000000ff",
  ]);
  assert.deepEqual(
    (await store.history("shop.example.com")).map((d) => d.version),
    [1, 2, 3, 1764423456789123],
    "a tenant's prefix does not take in another's (shop.example.co)",
  );
  assert.throws(() => new WorkersKvTenantStore({} as FakeListableKv), /TENANT_KV/);
});
