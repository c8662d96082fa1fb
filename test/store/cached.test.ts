import assert from "node:assert/strict";
import { HeadCache, type HeadStore, MemoryHeadStore, type StoredHead } from "../../src/store/mod.ts";

const doc = (version: number, tau?: number): StoredHead => ({
  version,
  head: { w: [1, 2], b: 0.5 },
  createdAt: "2026-11-29T12:00:00.000Z",
  ...(tau === undefined ? {} : { tau }),
});

/** Wraps a store, counting reads; `hang` makes reads wait until released, `fail` makes them throw. */
class CountingStore implements HeadStore {
  readonly kind = "counting";
  reads = 0;
  hang = false;
  fail = false;
  #release: (() => void)[] = [];
  constructor(readonly inner: HeadStore = new MemoryHeadStore()) {}
  async get(tenant: string): Promise<StoredHead | null> {
    this.reads++;
    if (this.hang) await new Promise<void>((r) => this.#release.push(r));
    if (this.fail) throw new Error("backend down");
    return this.inner.get(tenant);
  }
  put(tenant: string, d: StoredHead) {
    return this.inner.put(tenant, d);
  }
  delete(tenant: string) {
    return this.inner.delete(tenant);
  }
  releaseAll() {
    for (const r of this.#release.splice(0)) r();
  }
}

Deno.test("cache: a hit is synchronous and costs no read until the TTL expires", async () => {
  let now = 1000;
  const store = new CountingStore();
  await store.put("shop-1", doc(1, 0.8));
  const cache = new HeadCache(store, { ttlMs: 500, now: () => now });
  const first = await cache.lookup("shop-1");
  assert.equal(first.status, "tenant");
  if (first.status !== "tenant") return;
  assert.equal(first.head.version, 1);
  assert.equal(first.head.tau, 0.8);
  assert.ok(first.head.head.w instanceof Float32Array);
  assert.equal(store.reads, 1);
  const second = cache.lookup("shop-1");
  assert.ok(!(second instanceof Promise), "a fresh entry answers synchronously");
  assert.equal(store.reads, 1);
  await store.put("shop-1", doc(2));
  now += 499;
  assert.equal((cache.lookup("shop-1") as { head: { version: number } }).head.version, 1);
  now += 2;
  const third = await cache.lookup("shop-1");
  assert.equal(third.status === "tenant" && third.head.version, 2);
  assert.equal(store.reads, 2);
});

Deno.test("cache: absent heads are cached for the negative TTL", async () => {
  let now = 0;
  const store = new CountingStore();
  const cache = new HeadCache(store, { negativeTtlMs: 100, now: () => now });
  assert.deepEqual(await cache.lookup("shop-1"), { status: "none" });
  assert.deepEqual(cache.lookup("shop-1"), { status: "none" });
  assert.equal(store.reads, 1);
  await store.put("shop-1", doc(1));
  now = 101;
  assert.equal((await cache.lookup("shop-1")).status, "tenant");
  assert.equal(store.reads, 2);
});

Deno.test("cache: concurrent misses of one tenant share a single read", async () => {
  const store = new CountingStore();
  await store.put("shop-1", doc(1));
  store.hang = true;
  const cache = new HeadCache(store, { timeoutMs: 0 });
  const pending = [cache.lookup("shop-1"), cache.lookup("shop-1"), cache.lookup("shop-1")];
  await new Promise((r) => setTimeout(r, 5));
  store.releaseAll();
  const results = await Promise.all(pending);
  assert.equal(store.reads, 1);
  for (const r of results) assert.equal(r.status, "tenant");
});

Deno.test("cache: a failing store gives an error lookup, remembered for the error TTL only", async () => {
  let now = 0;
  const store = new CountingStore();
  store.fail = true;
  const cache = new HeadCache(store, { errorTtlMs: 50, now: () => now });
  const r = await cache.lookup("shop-1");
  assert.equal(r.status, "error");
  assert.match((r as { reason: string }).reason, /counting: backend down/);
  assert.equal((cache.lookup("shop-1") as { status: string }).status, "error");
  assert.equal(store.reads, 1);
  store.fail = false;
  now = 51;
  assert.equal((await cache.lookup("shop-1")).status, "none");
  assert.equal(store.reads, 2);
});

Deno.test("cache: a hung read times out to an error, then fills the cache when it lands", async () => {
  const store = new CountingStore();
  await store.put("shop-1", doc(4));
  store.hang = true;
  const cache = new HeadCache(store, { timeoutMs: 20 });
  const t0 = performance.now();
  const r = await cache.lookup("shop-1");
  const waited = performance.now() - t0;
  assert.equal(r.status, "error");
  assert.match((r as { reason: string }).reason, /timed out after 20 ms/);
  assert.ok(waited >= 15 && waited < 2000, `waited ${waited} ms`);
  store.releaseAll();
  await new Promise((r) => setTimeout(r, 5));
  const after = cache.lookup("shop-1");
  assert.ok(!(after instanceof Promise));
  assert.equal(after.status === "tenant" && after.head.version, 4);
  assert.equal(store.reads, 1);
});

Deno.test("cache: invalid tenant ids and corrupt documents are errors, not exceptions", async () => {
  const inner = new MemoryHeadStore();
  const corrupt: HeadStore = {
    kind: "corrupt",
    get: (t) => t === "bad" ? Promise.resolve({ version: 1 } as unknown as StoredHead) : inner.get(t),
    put: (t, d) => inner.put(t, d),
    delete: (t) => inner.delete(t),
  };
  const cache = new HeadCache(corrupt);
  assert.equal((await cache.lookup("UPPER")).status, "error");
  // The store returned an unchecked document: building the head from it fails, and that is an error too.
  assert.equal((await cache.lookup("bad")).status, "error");
});

Deno.test("cache: size is bounded, oldest entries go first; invalidate forgets one tenant", async () => {
  const store = new CountingStore();
  const cache = new HeadCache(store, { maxEntries: 3 });
  for (const t of ["a", "b", "c", "d"]) await cache.lookup(t);
  assert.equal(cache.size, 3);
  assert.equal(store.reads, 4);
  await cache.lookup("a"); // evicted: read again
  assert.equal(store.reads, 5);
  cache.lookup("d"); // still cached
  assert.equal(store.reads, 5);
  cache.invalidate("d");
  await cache.lookup("d");
  assert.equal(store.reads, 6);
});

Deno.test("cache: bad options are refused with their name", () => {
  assert.throws(() => new HeadCache(new MemoryHeadStore(), { ttlMs: -1 }), /ttlMs/);
  assert.throws(() => new HeadCache(new MemoryHeadStore(), { timeoutMs: NaN }), /timeoutMs/);
  assert.throws(() => new HeadCache({} as HeadStore), /HeadStore/);
});

Deno.test("cache: after a timeout, requests fail fast for the error TTL instead of waiting again", async () => {
  const store = new CountingStore();
  store.hang = true;
  const cache = new HeadCache(store, { timeoutMs: 10, errorTtlMs: 60_000 });
  assert.equal((await cache.lookup("shop-1")).status, "error");
  const next = cache.lookup("shop-1");
  assert.ok(!(next instanceof Promise), "the timed-out tenant answers synchronously");
  assert.equal(next.status, "error");
  store.releaseAll();
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(
    (cache.lookup("shop-1") as { status: string }).status,
    "none",
    "the late read replaced the error",
  );
  assert.equal(store.reads, 1);
});

Deno.test("cache: the request that starts a read hands it to waitUntil; sharers and hits do not", async () => {
  const store = new CountingStore();
  await store.put("shop-1", doc(1));
  store.hang = true;
  const cache = new HeadCache(store, { timeoutMs: 0 });
  const kept: Promise<unknown>[] = [];
  const first = cache.lookup("shop-1", (p) => kept.push(p));
  const second = cache.lookup("shop-1", (p) => kept.push(p));
  assert.equal(kept.length, 1, "one read, kept alive once");
  store.releaseAll();
  assert.equal((await kept[0] as { status: string }).status, "tenant");
  await Promise.all([first, second]);
  cache.lookup("shop-1", (p) => kept.push(p));
  assert.equal(kept.length, 1, "a hit starts nothing");
});

Deno.test("cache: a read that never settles is replaced after 30 s instead of stalling the tenant", async () => {
  let now = 0;
  const store = new CountingStore();
  store.hang = true;
  const cache = new HeadCache(store, { timeoutMs: 5, errorTtlMs: 0, now: () => now });
  assert.equal((await cache.lookup("shop-1")).status, "error");
  now = 29_000;
  assert.equal((await cache.lookup("shop-1")).status, "error");
  assert.equal(store.reads, 1, "still waiting for the first read");
  now = 30_001;
  store.hang = false;
  assert.equal((await cache.lookup("shop-1")).status, "none");
  assert.equal(store.reads, 2);
});
