/**
 * Learning mode through the worker and the tenant API (Deno, one process): onboarding in `log` + `learn`,
 * the proposals, apply through the guard, start again, shards of other isolates, poisoning bounds.
 */
import assert from "node:assert/strict";
import { refusal } from "../../src/api/api.ts";
import { apiConfigFromEnv } from "../../src/api/config.ts";
import {
  learningApplyResultSchema,
  learningDeleteResultSchema,
  learningResultSchema,
} from "../../src/api/schemas.ts";
import { Learner } from "../../src/learn/learner.ts";
import { createTsEngine } from "../../src/model/mod.ts";
import type { RequestRecord } from "../../src/record/record.ts";
import { MemoryTenantStore } from "../../src/store/mod.ts";
import { createWorkerApp } from "../../src/worker/app.ts";
import { workerConfigFromEnv } from "../../src/worker/config.ts";
import { ADMIN } from "./_app.ts";
import { apiModelBytes, attackRecord, benignRecord } from "./_model.ts";

const T = "shop.test";
const engine = createTsEngine(apiModelBytes());

/**
 * The worker in log + learn mode with the API. Client addresses come from `x-test-client`, unless `env`
 * configures the worker's own (`TAUGATE_CLIENT_HEADER`).
 */
function world(
  o: { store?: MemoryTenantStore; learner?: Learner; mode?: string; env?: Record<string, string> } = {},
) {
  const store = o.store ?? new MemoryTenantStore();
  const learner = o.learner ?? new Learner({ store: store.learning, flushMs: 3_600_000 });
  const env = {
    TAUGATE_MODE: o.mode ?? "log",
    TAUGATE_LEARN: "on",
    TAUGATE_ADMIN_TOKEN: ADMIN,
    TAUGATE_EXPOSE: "on",
    ...o.env,
  };
  const app = createWorkerApp({
    config: workerConfigFromEnv(env),
    engine,
    api: { config: apiConfigFromEnv(env)!, store },
    learner,
    clientAddress: o.env?.TAUGATE_CLIENT_HEADER ? undefined : (c) => c.req.header("x-test-client") ?? null,
    logSink: () => {},
  });
  const api = (path: string, init: RequestInit & { token?: string } = {}) => {
    const { token = ADMIN, ...rest } = init;
    const headers = new Headers(rest.headers);
    headers.set("authorization", `Bearer ${token}`);
    return Promise.resolve(
      app.request(`http://admin.test/_taugate/tenants/${T}${path}`, { ...rest, headers }),
    );
  };
  /** Sends a record from a client; whether the worker flagged it. */
  const send = async (rec: RequestRecord, client: string | null = null) => {
    const headers = new Headers(rec.headers);
    if (client !== null) headers.set("x-test-client", client);
    const res = await app.request(`http://${T}${rec.url}`, { method: rec.method, headers, body: rec.body });
    await res.body?.cancel();
    const d = res.headers.get("x-taugate-decision");
    return d === "would-block" || d === "block" || d === "tag";
  };
  const apply = (body: unknown, token?: string) =>
    api("/learning/apply", { method: "POST", body: JSON.stringify(body), token });
  return { app, store, learner, api, send, apply };
}

/** Ordinary traffic of the test shop (requests `from`, `from + step`, ...) from 200 addresses. */
async function ordinary(w: ReturnType<typeof world>, n: number, from = 0, step = 1) {
  for (let j = 0; j < n; j++) {
    const i = from + j * step;
    await w.send(benignRecord(i), `198.51.100.${i % 200}`);
  }
}

/** Share of records flagged by a head (`tenant` or `global`) in the API's dry run. */
async function flaggedShare(w: ReturnType<typeof world>, records: RequestRecord[], head: string) {
  const res = await w.api(`/score?head=${head}&explain=0`, {
    method: "POST",
    headers: { "content-type": "application/x-ndjson" },
    body: records.map((r) => JSON.stringify(r)).join("\n"),
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  return body.results.filter((r: { flagged: boolean }) => r.flagged).length / records.length;
}

Deno.test("learning: onboarding in log mode, proposals, apply fpr=0.001 through the guard, the next requests", async () => {
  const w = world();
  // The shop's traffic: the even requests are learnt, the odd ones come next.
  await ordinary(w, 1000, 0, 2);
  let res = await w.api("/learning");
  assert.equal(res.status, 200);
  const l = learningResultSchema.parse(await res.json()); // the answer is what the OpenAPI document says
  assert.equal(l.requests, 1000);
  assert.equal(l.seen, 1000);
  assert.equal(l.head.source, "global");
  assert.equal(l.shards.live, true, "on Deno the API sees the process's learning at once");
  assert.deepEqual(l.proposals.map((p: { fpr: number }) => p.fpr), [0.01, 0.001, 0.0001]);
  assert.equal(l.histogram.counts.length, 256);
  assert.equal(l.histogram.counts.reduce((a: number, b: number) => a + b, 0), l.histogramRequests);
  assert.equal(l.histogramRequests, 1000 - 200, "the first 200 requests start the profile");
  assert.equal(l.served.histogram.counts.reduce((a: number, b: number) => a + b, 0), 1000);
  assert.equal(l.clients.capped, 0);
  assert.ok(new Date(l.since!).getTime() <= new Date(l.updated!).getTime());
  const p3 = l.proposals[1];
  assert.equal(p3.settled, false, "1e-3 needs 3,000 ordinary requests");
  assert.equal(p3.needed, 3000 - 800);
  assert.ok(p3.tau <= l.tauMax);
  assert.ok(l.profile !== null && l.profile.tokens > 0);

  const attacks = Array.from({ length: 60 }, (_, i) => attackRecord(300 + i));
  const caughtBefore = await flaggedShare(w, attacks, "global");
  const next = Array.from({ length: 400 }, (_, i) => benignRecord(2 * i + 1));
  const blockedBefore = await flaggedShare(w, next, "global");

  res = await w.apply({ fpr: 0.001 });
  assert.equal(res.status, 201);
  const a = learningApplyResultSchema.parse(await res.json());
  assert.equal(a.tauSource, "learning");
  assert.equal(a.tau, p3.tau);
  assert.equal(a.guard.passed, true);
  assert.ok(a.guard.canaries.drop <= a.guard.margin + 1e-12);
  assert.equal(a.requests, 1000);
  assert.ok(a.profile !== null && a.profile.tokens > 0);
  res = await w.api("/head");
  const head = await res.json();
  assert.equal(head.version, a.version);
  assert.equal(head.tauSource, "learning");
  assert.equal(head.tau, a.tau);

  // The next ordinary requests: blocked at most at the learnt rate; the attacks still caught.
  const blockedAfter = await flaggedShare(w, next, "tenant");
  const caughtAfter = await flaggedShare(w, attacks, "tenant");
  assert.ok(blockedAfter <= 0.005, `blocked ${blockedAfter} (before ${blockedBefore})`);
  assert.ok(blockedAfter <= blockedBefore);
  assert.ok(caughtAfter >= caughtBefore - 0.05, `attacks caught ${caughtBefore} → ${caughtAfter}`);
  // The worker uses the new head from the next request on; learning goes on under it, from zero.
  const flagged = await w.send(benignRecord(9000), "198.51.100.1");
  assert.equal(flagged, false);
  const again = await (await w.api("/learning")).json();
  assert.equal(again.head.version, a.version);
  assert.equal(again.requests, 1);
});

Deno.test("learning: start again, not enough traffic, bad bodies, other tenants' tokens", async () => {
  const w = world();
  await ordinary(w, 250);
  let res = await w.apply({ fpr: 0.001 });
  assert.equal(res.status, 409);
  assert.equal((await res.json()).error, "not_enough_traffic");
  for (const bad of [{ fpr: 2 }, { fpr: "0.001" }, { fpr: 0.001, extra: 1 }, {}]) {
    res = await w.apply(bad);
    assert.equal(res.status, 400, JSON.stringify(bad));
    const body = await res.json();
    assert.equal(body.error, "invalid_body");
    assert.equal(typeof body.reason, "string");
  }
  res = await w.api("/learning/apply", { method: "POST", body: "{not json" });
  assert.equal(res.status, 400);
  res = await w.api("/learning?bogus=1");
  assert.equal(res.status, 400);

  const mint = await w.app.request("http://admin.test/_taugate/tenants/other.test/tokens", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  const other = (await mint.json()).token;
  for (const [path, method] of [["/learning", "GET"], ["/learning/apply", "POST"], ["/learning", "DELETE"]]) {
    res = await w.api(path, { method, token: other, body: method === "POST" ? '{"fpr":0.01}' : undefined });
    assert.equal(res.status, 403, `${method} ${path}`);
    await res.body?.cancel();
  }
  res = await w.app.request(`http://admin.test/_taugate/tenants/${T}/learning`);
  assert.equal(res.status, 401);

  res = await w.api("/learning", { method: "DELETE" });
  assert.equal(res.status, 200);
  assert.equal(learningDeleteResultSchema.parse(await res.json()).deleted, true);
  const l = await (await w.api("/learning")).json();
  assert.equal(l.requests, 0);
  assert.ok(l.epochSince !== null);
  await ordinary(w, 10, 1000);
  assert.equal((await (await w.api("/learning")).json()).requests, 10);
});

Deno.test("learning: the API adds up every isolate's shard, written once per flush interval", async () => {
  const store = new MemoryTenantStore();
  let t = 1_000_000;
  const now = () => t;
  const a = world({ store, learner: new Learner({ store: store.learning, flushMs: 60_000, now }) });
  const b = world({ store, learner: new Learner({ store: store.learning, flushMs: 60_000, now }) });
  await ordinary(a, 300);
  await ordinary(b, 100, 300);
  let l = await (await b.api("/learning")).json();
  assert.equal(l.requests, 100, "a's learning has not been written yet");
  t += 60_000;
  await ordinary(a, 1, 400); // this request's flush writes a's shard
  await a.learner.flush(T);
  l = await (await b.api("/learning")).json();
  assert.equal(l.requests, 401);
  assert.equal(l.shards.read, 1);
  assert.equal(l.shards.live, true);
  // A DELETE through b starts every isolate again: a's shard goes, and a's state, begun before it, is dropped
  // at its next write instead of being written (with what it learnt since: at most one flush interval).
  await b.api("/learning", { method: "DELETE" });
  l = await (await b.api("/learning")).json();
  assert.equal(l.requests, 0);
  await ordinary(a, 5, 500);
  await a.learner.flush(T);
  assert.equal(a.learner.state(T)!.learnt, 0);
  assert.equal((await (await b.api("/learning")).json()).requests, 0);
  await ordinary(a, 7, 600);
  await a.learner.flush(T);
  assert.equal((await (await b.api("/learning")).json()).requests, 7);
});

Deno.test("learning: one client sending 20 % attacks is held to its share; τ stays under the canaries' limit", async () => {
  const clean = world();
  const poisoned = world();
  for (let i = 0; i < 1500; i++) {
    const rec = benignRecord(i);
    await clean.send(rec, `198.51.100.${i % 200}`);
    if (i % 5 === 0) await poisoned.send(attackRecord(i), "203.0.113.66");
    else await poisoned.send(rec, `198.51.100.${i % 200}`);
  }
  const lc = await (await clean.api("/learning")).json();
  assert.equal(lc.clients.capped, 0);
  const lp = await (await poisoned.api("/learning")).json();
  assert.equal(lp.seen, 1500);
  // The attacker's 300 requests: at most max(20, 2 % of what was learnt) of them learnt.
  const learntFromAttacker = 300 - lp.clients.capped;
  assert.ok(learntFromAttacker <= Math.max(20, 0.02 * lp.requests) + 1, `learnt ${learntFromAttacker}`);
  const ac = await (await clean.apply({ fpr: 0.001 })).json();
  const ap = await (await poisoned.apply({ fpr: 0.001 })).json();
  // The bound on τ whatever the traffic: the canaries' limit, and the guard passes.
  assert.equal(ap.guard.passed, true);
  assert.ok(ap.tau <= lp.tauMax + 1e-12);
  assert.ok(ap.guard.canaries.tenant >= ap.guard.canaries.global - ap.guard.margin - 1e-12);
  assert.ok(ac.tau <= ap.tau, `τ clean ${ac.tau}, poisoned ${ap.tau}`);
  // The same attacks from many addresses (no per-client bound): more of them learnt, never a lower τ.
  const spread = world();
  for (let i = 0; i < 1500; i++) {
    if (i % 5 === 0) await spread.send(attackRecord(i), `203.0.${i >> 8}.${i & 255}`);
    else await spread.send(benignRecord(i), `198.51.100.${i % 200}`);
  }
  const ls = await (await spread.api("/learning")).json();
  assert.ok(ls.contamination > lp.contamination);
  const as = await (await spread.apply({ fpr: 0.001 })).json();
  assert.ok(as.tau >= ap.tau);
});

Deno.test("learning: traffic made of attacks alone cannot push τ past the canaries' limit", async () => {
  const w = world();
  // Every request an attack, each from its own address (no per-client bound helps).
  for (let i = 0; i < 700; i++) await w.send(attackRecord(i), `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
  const l = await (await w.api("/learning")).json();
  assert.ok(l.contamination > 0.5, `contamination ${l.contamination}`);
  const res = await w.apply({ fpr: 0.001 });
  assert.equal(res.status, 201);
  const a = await res.json();
  assert.ok(a.tau <= l.tauMax + 1e-12);
  assert.equal(a.guard.passed, true);
  assert.ok(a.guard.canaries.tenant >= a.guard.canaries.global - a.guard.margin - 1e-12);
});

Deno.test("learning: a refusal of a learnt head says what to do about learning, not about uploads", () => {
  const g = {
    margin: 0.05,
    conflicts: 0,
    canaries: { count: 40, global: 0.9, globalTau: 0.98, tenant: 0.7, tau: 0.99, drop: 0.2, passed: false },
    benign: { count: 0, global: 0, tenant: 0, rise: 0, passed: true },
    passed: false,
    forced: false,
  };
  const text = refusal(g, "learning");
  assert.match(text, /learnt head is refused/);
  assert.match(text, /DELETE \.\.\.\/learning/);
  assert.doesNotMatch(text, /upload|force/);
  assert.match(refusal(g), /upload again/);
});

Deno.test("learning: TAUGATE_CLIENT_HEADER names the proxy's header that carries the client's address", async () => {
  const { app, learner } = world({ env: { TAUGATE_CLIENT_HEADER: "x-forwarded-for" } });
  const send = async (i: number, xff: string) => {
    const rec = benignRecord(i);
    const headers = new Headers(rec.headers);
    headers.set("x-forwarded-for", xff);
    await (await app.request(`http://${T}${rec.url}`, { method: rec.method, headers, body: rec.body }))
      .text();
  };
  for (let i = 0; i < 100; i++) await send(i, "203.0.113.9, 10.0.0.1"); // one client behind the proxy
  for (let i = 0; i < 100; i++) await send(i, `198.51.100.${i}, 10.0.0.1`);
  const s = learner.state(T)!;
  assert.equal(s.anonymous, 0);
  assert.equal(s.capped, 100 - 20, "the first client is held to its share");
  assert.equal(s.learnt, 120);
});
