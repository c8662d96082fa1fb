import assert from "node:assert/strict";
import { NOVELTY_DIM } from "../../src/heads/site_profile.ts";
import { Learner } from "../../src/learn/learner.ts";
import type { LearnShard } from "../../src/learn/shard.ts";
import type { ProfileTerm } from "../../src/learn/state.ts";
import type { LearnStore } from "../../src/learn/store.ts";
import { MemoryTenantStore } from "../../src/store/tenant_memory.ts";

const T = "shop.test";
const TERM: ProfileTerm = { a: new Float32Array(NOVELTY_DIM), profile: null, weight: 1 };
const o = (logit = -3) => ({ logit, flagged: false, structure: [1, 2, 3], nStructure: 3, client: null });

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, tick: (ms: number) => (t += ms) };
}

Deno.test("learner: a tenant's shard is written at most once per flush interval, off the request (keep)", async () => {
  const store = new MemoryTenantStore().learning;
  const c = clock();
  const l = new Learner({ store, flushMs: 10_000, now: c.now, shardId: "iso1" });
  const kept: Promise<unknown>[] = [];
  const keep = (p: Promise<unknown>) => void kept.push(p);
  for (let i = 0; i < 50; i++) l.observe(T, null, o(), TERM, keep);
  assert.equal(kept.length, 0, "no write before the interval");
  c.tick(10_000);
  l.observe(T, null, o(), TERM, keep);
  for (let i = 0; i < 50; i++) l.observe(T, null, o(), TERM, keep);
  assert.equal(kept.length, 1, "one write per interval");
  await Promise.all(kept);
  const { shards } = await store.shards(T);
  assert.equal(shards.length, 1);
  assert.equal(shards[0].shard, l.shardFor(T));
  assert.ok(shards[0].learnt >= 51);
});

Deno.test("learner: a head change starts the tenant's state again (its histogram is of another head)", () => {
  const l = new Learner();
  for (let i = 0; i < 10; i++) l.observe(T, null, o(), TERM);
  assert.equal(l.state(T)!.learnt, 10);
  l.observe(T, 7, o(), TERM);
  assert.equal(l.state(T)!.learnt, 1);
  assert.equal(l.state(T)!.headVersion, 7);
});

Deno.test("learner: a state begun before another isolate's DELETE is dropped, not written", async () => {
  const store = new MemoryTenantStore().learning;
  const c = clock();
  const l = new Learner({ store, flushMs: 1_000, now: c.now });
  for (let i = 0; i < 20; i++) l.observe(T, null, o(), TERM);
  c.tick(500);
  await store.putEpoch(T, { epoch: "e2", since: c.now() }); // another isolate's DELETE .../learning
  c.tick(600);
  await l.flush(T);
  assert.equal((await store.shards(T)).shards.length, 0);
  assert.equal(l.state(T)!.learnt, 0);
  assert.equal(l.state(T)!.epoch, "e2");
  // What it learns from now on is written, in the new epoch.
  for (let i = 0; i < 5; i++) l.observe(T, null, o(), TERM);
  await l.flush(T);
  const { shards } = await store.shards(T);
  assert.equal(shards.length, 1);
  assert.equal(shards[0].epoch, "e2");
  assert.equal(shards[0].learnt, 5);
});

Deno.test("learner: at most maxTenants states; the least recently seen is written out and, seen again, starts a new shard", async () => {
  const store = new MemoryTenantStore().learning;
  const kept: Promise<unknown>[] = [];
  const l = new Learner({ store, maxTenants: 2, shardId: "iso" });
  for (let i = 0; i < 25; i++) l.observe("b.test", null, o(), TERM);
  l.observe("a.test", null, o(), TERM); // b is now the least recent
  const bShard = l.shardFor("b.test");
  l.observe("c.test", null, o(), TERM, (p) => void kept.push(p));
  assert.deepEqual(l.tenants().sort(), ["a.test", "c.test"]);
  await Promise.all(kept);
  assert.equal((await store.shards("b.test")).shards[0].shard, bShard);
  l.observe("b.test", null, o(), TERM);
  assert.notEqual(l.shardFor("b.test"), bShard, "a new state never overwrites the shard written on eviction");
});

Deno.test("learner: a failed write is reported (never thrown) and retried at the next flush", async () => {
  const inner = new MemoryTenantStore().learning;
  let fail = true;
  const store: LearnStore = {
    ...inner,
    putShard: (t: string, d: LearnShard, ttl: number) =>
      fail ? Promise.reject(new Error("KV is down")) : inner.putShard(t, d, ttl),
  };
  const lines: string[] = [];
  const l = new Learner({ store, onError: (line) => lines.push(line) });
  l.observe(T, null, o(), TERM);
  await l.flush(T);
  assert.equal(lines.length, 1);
  assert.match(lines[0], /KV is down/);
  fail = false;
  await l.flush(T);
  assert.equal((await inner.shards(T)).shards.length, 1);
});

Deno.test("learner: options are checked at once, naming the option", () => {
  assert.throws(() => new Learner({ flushMs: 10 }), /flushMs/);
  assert.throws(() => new Learner({ shardId: "../x" }), /shardId/);
  assert.throws(() => new Learner({ settings: { clientShare: 2 } }), /settings\.clientShare/);
  assert.throws(() => new Learner({ bogus: 1 } as never), /Learner: invalid option/);
});

Deno.test("learner: memory stores expire shards after their TTL", async () => {
  const c = clock();
  const store = new MemoryTenantStore(c.now).learning;
  const l = new Learner({ store, ttlSeconds: 60, now: c.now });
  l.observe(T, null, o(), TERM);
  await l.flush(T);
  assert.equal((await store.shards(T)).shards.length, 1);
  c.tick(61_000);
  assert.equal((await store.shards(T)).shards.length, 0);
});

Deno.test("learner: a client cycling through Host names (one tenant each) keeps memory and KV writes bounded", async () => {
  const { Hono } = await import("hono");
  const { taugate } = await import("../../src/middleware/mod.ts");
  const { createTsEngine } = await import("../../src/model/mod.ts");
  const { apiModelBytes } = await import("../api/_model.ts");
  const inner = new MemoryTenantStore().learning;
  let writes = 0;
  const store: LearnStore = { ...inner, putShard: (t, d, ttl) => (writes++, inner.putShard(t, d, ttl)) };
  const learner = new Learner({ store, maxTenants: 8 });
  const app = new Hono();
  app.use("*", taugate({ engine: createTsEngine(apiModelBytes()), mode: "log", log: false, learn: learner }));
  app.all("*", (c) => c.text("ok"));
  for (let i = 0; i < 300; i++) {
    const q = Array.from({ length: 6 }, (_, j) => `k${i}${j}=${"%27".repeat(j)}v${i}`).join("&");
    const res = await app.request(`http://h${i}.evil.test/p${i}/${i}.x${i}?${q}`, {
      headers: { [`x-r${i}`]: "1", cookie: `s${i}=1` },
    });
    await res.text();
  }
  assert.ok(learner.tenants().length <= 8);
  for (const t of learner.tenants()) assert.ok(learner.state(t)!.bytes() <= 64 * 1024);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(writes, 0, "states of one request are evicted without a write");
});

Deno.test("learner: a learner that throws never changes a request's decision", async () => {
  const { Hono } = await import("hono");
  const { taugate } = await import("../../src/middleware/mod.ts");
  const { createTsEngine } = await import("../../src/model/mod.ts");
  const { apiModelBytes, attackRecord, benignRecord } = await import("../api/_model.ts");
  class Broken extends Learner {
    override observe(): void {
      throw new Error("learning is broken");
    }
  }
  const engine = createTsEngine(apiModelBytes());
  const decisions = async (learn: Learner | false) => {
    const app = new Hono();
    app.use("*", taugate({ engine, mode: "block", log: false, exposeToClient: true, learn }));
    app.all("*", (c) => c.text("ok"));
    const out: string[] = [];
    for (const rec of [benignRecord(1), attackRecord(2), benignRecord(3)]) {
      const res = await app.request(`http://shop.test${rec.url}`, {
        method: rec.method,
        headers: rec.headers,
        body: rec.body,
      });
      await res.text();
      out.push(`${res.status} ${res.headers.get("x-taugate-decision")}`);
    }
    return out;
  };
  assert.deepEqual(await decisions(new Broken()), await decisions(false));
});
