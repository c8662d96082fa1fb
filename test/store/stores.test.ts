import assert from "node:assert/strict";
import {
  activeHeadKey,
  headFromJson,
  type HeadStore,
  headToJson,
  historyHeadKey,
  type KVNamespace,
  MemoryHeadStore,
  parseStoredHead,
  type StoredHead,
  WorkersKvHeadStore,
} from "../../src/store/mod.ts";
import { DenoKvHeadStore } from "../../src/store/deno_kv.ts";

const doc = (version: number, extra: Partial<StoredHead> = {}): StoredHead => ({
  version,
  head: { w: [0.5, -0.25, 1e-3], b: -1.5 },
  createdAt: "2026-11-29T12:00:00.000Z",
  ...extra,
});

/** A Workers KV namespace in memory, with the same text semantics as the binding. */
class FakeKv implements KVNamespace {
  data = new Map<string, string>();
  reads: string[] = [];
  get(key: string, type: "text"): Promise<string | null> {
    assert.equal(type, "text");
    this.reads.push(key);
    return Promise.resolve(this.data.get(key) ?? null);
  }
  put(key: string, value: string): Promise<void> {
    assert.equal(typeof value, "string");
    this.data.set(key, value);
    return Promise.resolve();
  }
  delete(key: string): Promise<void> {
    this.data.delete(key);
    return Promise.resolve();
  }
}

async function contract(name: string, make: () => Promise<{ store: HeadStore; close?: () => void }>) {
  await Deno.test(`${name}: put, get, delete round-trip the document, optional fields included`, async () => {
    const { store, close } = await make();
    try {
      assert.equal(await store.get("shop-1"), null);
      const d = doc(3, {
        tau: 0.7,
        modelId: "m-1",
        counts: { benign: 20, attack: 8 },
        parent: 2,
        head: { w: [0.5, -0.25], b: 0.125, mu: [1, 2], steps: 5, note: "x" },
      });
      await store.put("shop-1", d);
      assert.deepEqual(await store.get("shop-1"), d);
      assert.equal(await store.get("shop-2"), null);
      await store.delete("shop-1");
      assert.equal(await store.get("shop-1"), null);
    } finally {
      close?.();
    }
  });
  await Deno.test(`${name}: invalid tenant ids and documents are refused before any key is built`, async () => {
    const { store, close } = await make();
    try {
      await assert.rejects(() => store.get("../x"), RangeError);
      await assert.rejects(() => store.put("A", doc(1)), RangeError);
      await assert.rejects(() => store.delete("a/b"), RangeError);
      await assert.rejects(() => store.put("ok", { ...doc(1), version: 0 }), /version/);
      await assert.rejects(() => store.put("ok", { ...doc(1), head: { w: [], b: 0 } }), /head\.w/);
      await assert.rejects(() => store.put("ok", { ...doc(1), tau: 1.5 }), /tau/);
    } finally {
      close?.();
    }
  });
}

await contract("memory store", () => Promise.resolve({ store: new MemoryHeadStore() }));
await contract(
  "Workers KV store (in-memory namespace)",
  () => Promise.resolve({ store: new WorkersKvHeadStore(new FakeKv()) }),
);
await contract("Deno KV store", async () => {
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/kv.sqlite3`);
  return {
    store: new DenoKvHeadStore(kv),
    close: () => {
      kv.close();
      Deno.removeSync(dir, { recursive: true });
    },
  };
});

Deno.test("Workers KV store: one key per tenant, head/<tenant>, JSON text; a corrupt value is an error", async () => {
  const kv = new FakeKv();
  const store = new WorkersKvHeadStore(kv);
  await store.put("shop.example.com", doc(1));
  assert.deepEqual([...kv.data.keys()], ["head/shop.example.com"]);
  assert.deepEqual(JSON.parse(kv.data.get("head/shop.example.com")!), doc(1));
  await store.get("shop.example.com");
  assert.deepEqual(kv.reads, ["head/shop.example.com"]);
  kv.data.set("head/bad", "{not json");
  await assert.rejects(() => store.get("bad"), SyntaxError);
  kv.data.set("head/bad", JSON.stringify({ version: 1, head: { w: ["x"], b: 0 }, createdAt: "t" }));
  await assert.rejects(() => store.get("bad"), /invalid stored head/);
  assert.throws(() => new WorkersKvHeadStore(undefined as unknown as KVNamespace), /TENANT_KV/);
});

Deno.test("Deno KV store: the document persists in the file across handles", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const kv1 = await Deno.openKv(`${dir}/kv.sqlite3`);
    await new DenoKvHeadStore(kv1).put("shop-1", doc(2, { tau: 0.4 }));
    kv1.close();
    const kv2 = await Deno.openKv(`${dir}/kv.sqlite3`);
    assert.deepEqual(await new DenoKvHeadStore(kv2).get("shop-1"), doc(2, { tau: 0.4 }));
    assert.deepEqual((await kv2.get(["taugate", "head", "shop-1"])).value, doc(2, { tau: 0.4 }));
    kv2.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("head JSON: typed arrays round-trip exactly, optional fields included", () => {
  const head = {
    w: new Float32Array([0.1, -2.5, 3e-8]),
    b: Math.fround(0.3),
    mu: new Float32Array([1.1, 2.2]),
    steps: 4,
  };
  const json = headToJson(head);
  assert.deepEqual(json, { w: Array.from(head.w), b: head.b, mu: Array.from(head.mu), steps: 4 });
  const back = headFromJson(JSON.parse(JSON.stringify(json)));
  assert.deepEqual(back, head);
  assert.ok(back.w instanceof Float32Array);
});

Deno.test("stored head documents: bounds and types are checked", () => {
  assert.deepEqual(parseStoredHead(doc(1)), doc(1));
  assert.throws(() => parseStoredHead(null), /invalid stored head/);
  assert.throws(() => parseStoredHead({ ...doc(1), createdAt: undefined }), /createdAt/);
  assert.throws(() => parseStoredHead({ ...doc(1), head: { w: new Array(5000).fill(0), b: 0 } }), /head\.w/);
  assert.throws(() => parseStoredHead({ ...doc(1), head: { w: [1], b: Infinity } }), /head\.b/);
});

Deno.test("key layout: active head and history keys", () => {
  assert.equal(activeHeadKey("shop-1"), "head/shop-1");
  assert.equal(historyHeadKey("shop-1", 12), "history/shop-1/0000000012");
  assert.ok(historyHeadKey("a", 9) < historyHeadKey("a", 10));
});
