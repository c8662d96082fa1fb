// The API's small parts: tokens, settings, options, versions and the per-tenant lock.
import assert from "node:assert/strict";
import { tenantApi } from "../../src/api/api.ts";
import { apiConfigFromEnv } from "../../src/api/config.ts";
import {
  bearerToken,
  mintTenantToken,
  tenantTokenId,
  timingSafeEqual,
  tokenMatches,
} from "../../src/api/tokens.ts";
import { KeyedLock, nextVersion } from "../../src/api/versions.ts";
import { createTsEngine } from "../../src/model/mod.ts";
import { MemoryTenantStore } from "../../src/store/mod.ts";
import { ADMIN } from "./_app.ts";
import { apiModelBytes } from "./_model.ts";

Deno.test("tokens: bearer parsing, tenant token form, constant-time comparison, hashing", async () => {
  assert.equal(bearerToken(null), null);
  assert.equal(bearerToken("Bearer abc.DEF-_~+/="), "abc.DEF-_~+/=");
  assert.equal(bearerToken("bearer   abc  "), "abc");
  for (
    const bad of [
      "Basic abc",
      "Bearer",
      "Bearer a b",
      "Bearer a\u00e9",
      "Token abc",
      "Bearer " + "a".repeat(2000),
    ]
  ) {
    assert.equal(bearerToken(bad), null, bad);
  }
  const { token, id, hash } = await mintTenantToken();
  assert.equal(tenantTokenId(token), id);
  assert.equal(tenantTokenId(token.toUpperCase()), null);
  assert.equal(tenantTokenId(token + "0"), null);
  assert.equal(tenantTokenId(ADMIN), null);
  assert.equal(await tokenMatches(token, hash), true);
  assert.equal(await tokenMatches(token.slice(0, -1) + (token.endsWith("0") ? "1" : "0"), hash), false);
  assert.equal(await tokenMatches(token, "zz"), false);
  assert.equal(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])), true);
  assert.equal(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])), false);
  assert.equal(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3])), false);
  const ids = new Set(
    await Promise.all(Array.from({ length: 50 }, async () => (await mintTenantToken()).id)),
  );
  assert.equal(ids.size, 50);
});

Deno.test("settings: the API is off without TAUGATE_ADMIN_TOKEN; bad values name their variable, never the token", () => {
  assert.equal(apiConfigFromEnv({}), null);
  assert.equal(apiConfigFromEnv({ TAUGATE_ADMIN_TOKEN: "" }), null);
  assert.deepEqual(apiConfigFromEnv({ TAUGATE_ADMIN_TOKEN: ADMIN }), {
    adminToken: ADMIN,
    guardMargin: 0.05,
    keepVersions: 5,
  });
  assert.deepEqual(
    apiConfigFromEnv({ TAUGATE_ADMIN_TOKEN: ADMIN, TAUGATE_GUARD_MARGIN: "0.1", TAUGATE_HEAD_VERSIONS: "8" }),
    { adminToken: ADMIN, guardMargin: 0.1, keepVersions: 8 },
  );
  const short = "short-secret-value";
  for (
    const [env, re] of [
      [{ TAUGATE_ADMIN_TOKEN: short }, /invalid TAUGATE_ADMIN_TOKEN: must be at least 32/],
      [{ TAUGATE_ADMIN_TOKEN: "x".repeat(31) + " y" }, /invalid TAUGATE_ADMIN_TOKEN/],
      [{ TAUGATE_ADMIN_TOKEN: "tgt_" + "x".repeat(40) }, /tgt_/],
      [{ TAUGATE_ADMIN_TOKEN: ADMIN, TAUGATE_GUARD_MARGIN: "2" }, /invalid TAUGATE_GUARD_MARGIN/],
      [{ TAUGATE_ADMIN_TOKEN: ADMIN, TAUGATE_HEAD_VERSIONS: "0" }, /invalid TAUGATE_HEAD_VERSIONS/],
      [{ TAUGATE_ADMIN_TOKEN: ADMIN, TAUGATE_HEAD_VERSIONS: "2.5" }, /invalid TAUGATE_HEAD_VERSIONS/],
    ] as const
  ) {
    assert.throws(
      () => apiConfigFromEnv(env),
      (e: Error) => re.test(e.message) && !e.message.includes(short),
    );
  }
});

Deno.test("tenantApi: options are checked once, at creation, naming the option", () => {
  const engine = createTsEngine(apiModelBytes());
  const store = new MemoryTenantStore();
  assert.throws(() => tenantApi({ adminToken: "short", store, engine }), /invalid option "adminToken"/);
  assert.throws(
    () => tenantApi({ adminToken: ADMIN, store: {} as MemoryTenantStore, engine }),
    /invalid option "store"/,
  );
  assert.throws(() => tenantApi({ adminToken: ADMIN, store, engine, guardMargin: 2 }), /"guardMargin"/);
  assert.throws(() => tenantApi({ adminToken: ADMIN, store, engine, keepVersions: 0 }), /"keepVersions"/);
  assert.throws(
    () =>
      tenantApi({ adminToken: ADMIN, store, engine, extra: 1 } as unknown as Parameters<typeof tenantApi>[0]),
    /unknown option\(s\) extra/,
  );
  assert.ok(tenantApi({ adminToken: ADMIN, store, engine }));
});

Deno.test("versions: increasing, above the clock, distinct under a race", () => {
  const now = Date.UTC(2026, 10, 29);
  const v = nextVersion(0, now);
  assert.ok(v > now * 1000 && v <= now * 1000 + 65536 && Number.isSafeInteger(v));
  assert.ok(nextVersion(v, now) > v, "the same millisecond still increases");
  assert.ok(nextVersion(now * 2000, now) > now * 2000, "a version ahead of the clock still increases");
  const raced = new Set(Array.from({ length: 200 }, () => nextVersion(v, now)));
  assert.ok(raced.size >= 198, `${raced.size} distinct of 200 drawn from one read`);
});

Deno.test("KeyedLock: one task at a time per key, keys independent, a failure does not block the next", async () => {
  const lock = new KeyedLock();
  const log: string[] = [];
  const task = (name: string, ms: number, fail = false) => async () => {
    log.push(`${name}+`);
    await new Promise((r) => setTimeout(r, ms));
    log.push(`${name}-`);
    if (fail) throw new Error(name);
    return name;
  };
  const results = await Promise.allSettled([
    lock.run("a", task("a1", 10, true)),
    lock.run("a", task("a2", 1)),
    lock.run("b", task("b1", 1)),
  ]);
  assert.equal(results[0].status, "rejected");
  assert.deepEqual(results.slice(1).map((r) => r.status === "fulfilled" && r.value), ["a2", "b1"]);
  assert.ok(log.indexOf("a1-") < log.indexOf("a2+"), log.join(" "));
  assert.ok(log.indexOf("b1+") < log.indexOf("a1-"), "another key does not wait");
});

Deno.test("failures: a failing store or a model that does not load is a 503 with a reason, never a crash", async () => {
  const { testWorld, labelled } = await import("./_app.ts");
  const { benignRecord } = await import("./_model.ts");
  const broken = new MemoryTenantStore();
  const fail = () => Promise.reject(new Error("KV is down"));
  Object.assign(broken, { read: fail, history: fail, getToken: fail });
  const w = testWorld({ store: broken });
  const res = await w.upload("shop-a.test", labelled([benignRecord(1)], 0));
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), { error: "store_unavailable", reason: "memory: KV is down" });
  assert.equal((await w.api("/tenants/shop-a.test/head")).status, 503);
  const tenantToken = `tgt_${"0".repeat(16)}_${"1".repeat(64)}`;
  assert.equal((await w.api("/tenants/shop-a.test/head", { token: tenantToken })).status, 503);

  const noModel = tenantApi({
    adminToken: ADMIN,
    store: new MemoryTenantStore(),
    engine: () => Promise.reject(new Error("no model file")),
    log: () => {},
  });
  const r = await noModel.request("/_taugate/tenants/shop-a.test/examples", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify([{ ...benignRecord(1), label: 0 }]),
  });
  assert.equal(r.status, 503);
  assert.equal((await r.json()).error, "model_unavailable");
});

Deno.test("HeadCache.invalidate: a read under way when a head changes does not cache what it read", async () => {
  const { HeadCache } = await import("../../src/store/mod.ts");
  const store = new MemoryTenantStore();
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  // The store answers with what it held when the read began, after a delay.
  const slow = {
    ...store.heads,
    kind: "slow",
    get: async (t: string) => {
      const seen = await store.heads.get(t);
      await gate;
      return seen;
    },
  };
  const cache = new HeadCache(slow, { timeoutMs: 0 });
  const before = cache.lookup("shop-a.test"); // reads "no head", slowly
  await store.heads.put("shop-a.test", { version: 7, head: { w: [1], b: 0 }, createdAt: "t" });
  cache.invalidate("shop-a.test"); // the API's change lands while the read is under way
  release();
  assert.deepEqual(await before, { status: "none" }, "that request saw the store as it was");
  const next = await cache.lookup("shop-a.test");
  assert.equal(next.status, "tenant", "the next request reads again instead of the stale answer");
  assert.equal(next.status === "tenant" && next.head.version, 7);
});
