import assert from "node:assert/strict";
import fc from "fast-check";
import { featuresOfRecord } from "../../src/features/mod.ts";
import { buildSiteProfile, NOVELTY_DIM } from "../../src/heads/site_profile.ts";
import { addShard, emptyLearnt, parseShard, shardOf } from "../../src/learn/shard.ts";
import {
  bucketEdge,
  bucketOf,
  clientHash,
  CountTable,
  HIST_BUCKETS,
  LearnState,
  type ProfileTerm,
} from "../../src/learn/state.ts";
import type { RequestRecord } from "../../src/record/record.ts";

const NO_PROFILE: ProfileTerm = { a: new Float32Array(NOVELTY_DIM), profile: null, weight: 1 };
const get = (url: string, headers: Record<string, string> = { accept: "*/*" }): RequestRecord => ({
  method: "GET",
  url,
  headers,
});
const tokens = (r: RequestRecord) => featuresOfRecord(r).structure;
const obs = (
  logit: number,
  structure: Int32Array = new Int32Array(0),
  client: number | null = null,
  flagged = false,
) => ({
  logit,
  flagged,
  structure,
  nStructure: structure.length,
  client,
});

Deno.test("learn: buckets cover the logit line, tails in the end buckets, edges increasing", () => {
  assert.equal(bucketOf(-1e9), 0);
  assert.equal(bucketOf(-Infinity), 0);
  assert.equal(bucketOf(NaN), 0);
  assert.equal(bucketOf(Infinity), HIST_BUCKETS - 1);
  assert.equal(bucketOf(1e9), HIST_BUCKETS - 1);
  fc.assert(fc.property(fc.double({ min: -15.9, max: 15.9, noNaN: true }), (x) => {
    const b = bucketOf(x);
    // Up to rounding of x + 16 at an edge.
    return bucketEdge(b) <= x + 1e-9 && x < bucketEdge(b + 1) + 1e-9;
  }));
});

Deno.test("learn: the count table counts exactly until full, then halves and keeps the common keys", () => {
  const t = new CountTable(64);
  for (let k = 1; k <= 20; k++) for (let i = 0; i < k; i++) t.add(k * 7919);
  for (let k = 1; k <= 20; k++) assert.equal(t.get(k * 7919), k);
  assert.equal(t.get(12345), 0);
  // A flood of one-off keys: the table never grows (it halves its counts and forgets what falls to 0).
  for (let i = 0; i < 10_000; i++) t.add(1_000_000 + i);
  assert.ok(t.size <= 48);
  assert.equal(t.keys.length, 64);
});

Deno.test("learn: under a flood of one-off tokens, the tokens a site's requests keep using stay", () => {
  const t = new CountTable(4096);
  let junk = 0;
  for (let r = 0; r < 3000; r++) {
    for (let k = 1; k <= 100; k++) t.add(k * 7919); // every request's own tokens
    for (let j = 0; j < 30; j++) t.add(0x40000000 + junk++); // hostile, never seen again
  }
  assert.ok(t.size <= 3072);
  for (let k = 1; k <= 100; k++) assert.ok(t.get(k * 7919) >= 3, `key ${k}: ${t.get(k * 7919)}`);
});

Deno.test("learn: a state's memory is fixed (under 64 KB) whatever the traffic: hostile paths, parameters, values", () => {
  const s = new LearnState();
  const before = s.bytes();
  assert.ok(before <= 64 * 1024, `${before} bytes`);
  for (let i = 0; i < 3000; i++) {
    const q = Array.from({ length: 8 }, (_, j) => `p${i}_${j}=${"x".repeat(i % 50)}${i}`).join("&");
    const r = get(`/r${i}/${i * 7}/f${i}.ext${i % 97}?${q}`, { [`x-h${i}`]: "1", cookie: `c${i}=1` });
    s.observe(obs(0, tokens(r), clientHash(`10.0.${i >> 8}.${i & 255}`)), NO_PROFILE, i);
  }
  assert.equal(s.bytes(), before);
  assert.ok(s.tokens.size <= s.tokens.keys.length * 0.75);
  assert.ok(s.clients.size <= s.clients.keys.length * 0.75);
  // The shard written from it fits a Deno KV value (64 KiB).
  assert.ok(JSON.stringify(shardOf("t.test", "s1", s)).length < 64 * 1024);
});

Deno.test("learn: one client gives at most max(floor, share·learnt) of the requests learnt", () => {
  const s = new LearnState({ clientShare: 0.02, clientFloor: 20, minCount: 3, warmup: 0 });
  const attacker = clientHash("203.0.113.66");
  for (let i = 0; i < 5000; i++) {
    const client = i % 5 === 0 ? attacker : clientHash(`198.51.100.${i % 250}`);
    s.observe(obs(i % 5 === 0 ? 8 : -4, new Int32Array(0), client), NO_PROFILE, i);
  }
  const fromAttacker = s.served[bucketOf(8)];
  assert.ok(fromAttacker <= Math.max(20, 0.02 * s.learnt) + 1, `${fromAttacker} of ${s.learnt}`);
  assert.equal(s.capped, 1000 - fromAttacker);
  assert.equal(s.seen, 5000);
  // Requests without an address are all learnt (and counted as such).
  const t = new LearnState();
  for (let i = 0; i < 100; i++) t.observe(obs(0), NO_PROFILE, i);
  assert.equal(t.learnt, 100);
  assert.equal(t.anonymous, 100);
});

Deno.test("learn: tokens of flagged requests or seen fewer than minCount times do not become normal", () => {
  const s = new LearnState({ clientShare: 1, clientFloor: 1, minCount: 3, warmup: 0 });
  const a = new Float32Array(NOVELTY_DIM).fill(1);
  const term: ProfileTerm = { a, profile: null, weight: 1 };
  const normal = tokens(get("/shop/item?id=12"));
  const attack = tokens(get("/shop/item?id=1%27%20or%201=1"));
  // The first request is novel in every token; by the fourth its tokens are normal (minCount 3).
  for (let i = 0; i < 4; i++) s.observe(obs(-5, normal), term, i);
  assert.ok(s.proposed[bucketOf(-5)] >= 1, "the fourth request scores as the served head did");
  assert.ok(s.proposed.slice(bucketOf(-4)).reduce((x, y) => x + y, 0) >= 1, "the first ones score higher");
  // A flagged attack, repeated, never teaches its tokens.
  for (let i = 0; i < 10; i++) s.observe(obs(5, attack, null, true), term, 10 + i);
  const novelShape = [...attack].filter((t) => !normal.includes(t));
  assert.ok(novelShape.length > 0);
  for (const t of novelShape) assert.equal(s.tokens.get(t), 0);
});

Deno.test("learn: the proposed score swaps the head's own profile term for the merged profile's", () => {
  const own = buildSiteProfile([tokens(get("/a?x=1"))], { minCount: 1 });
  const a = new Float32Array(NOVELTY_DIM).fill(0.5);
  const term: ProfileTerm = { a, profile: own, weight: 1 };
  const s = new LearnState({ clientShare: 1, clientFloor: 1, minCount: 1, warmup: 0 });
  // Known to the head's profile: nothing novel either way, the proposed logit is the served one.
  s.observe(obs(-3, tokens(get("/a?x=1"))), term, 0);
  assert.equal(s.proposed[bucketOf(-3)], 1);
  // Unknown to both: the served logit already holds the head's novelty term, the learnt profile's replaces it.
  const r = tokens(get("/b/c.php?y=zz"));
  s.observe(obs(2, r), term, 1);
  assert.equal(s.proposed[bucketOf(2)], 1, "same weights, same novelty: same logit");
});

Deno.test("learn: shards round-trip, merge by addition and refuse malformed documents", () => {
  const a = new LearnState(), b = new LearnState();
  const r1 = tokens(get("/x?q=1")), r2 = tokens(get("/y?z=2"));
  for (let i = 0; i < 300; i++) a.observe(obs(-2, r1, clientHash(`c${i}`)), NO_PROFILE, 1000 + i);
  for (let i = 0; i < 250; i++) b.observe(obs(3, r2, clientHash(`d${i}`)), NO_PROFILE, 500 + i);
  const sa = parseShard(JSON.parse(JSON.stringify(shardOf("t.test", "a-0", a))));
  const sb = parseShard(JSON.parse(JSON.stringify(shardOf("t.test", "b-0", b))));
  const sum = addShard(addShard(emptyLearnt(), sa), sb);
  assert.equal(sum.learnt, 550);
  assert.equal(sum.served[bucketOf(-2)], 300);
  assert.equal(sum.served[bucketOf(3)], 250);
  assert.equal(sum.since, 500);
  assert.equal(sum.updated, 1299);
  assert.equal(sum.tokens.get(r1[0]), a.tokens.get(r1[0]) + b.tokens.get(r1[0]));
  assert.throws(() => parseShard({ ...sa, served: [[HIST_BUCKETS, 1]] }), TypeError);
  assert.throws(() => parseShard({ ...sa, shard: "../x" }), TypeError);
  assert.throws(() => parseShard({ ...sa, learnt: -1 }), TypeError);
  assert.throws(() => addShard(emptyLearnt(), { ...sa, tokenCounts: "" }), TypeError);
});
