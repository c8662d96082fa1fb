// The fault matrix: stores that throw, hang or answer late; models that cannot load, belong to another feature
// spec, throw or hang; tenant-API storage that fails under a write; two adaptations of one tenant at once.
// Requests are always answered, the way the fail mode documents, with a header saying a fallback was used,
// and every hang is cut by a bound. (Fake-engine versions of the first rows: test/middleware/taugate.test.ts;
// the cache alone: test/store/cached.test.ts; uploads racing across isolates: test/api/guard.test.ts.)
import assert from "node:assert/strict";
import { fitTenantHead } from "../../src/api/fit.ts";
import { apiConfigFromEnv } from "../../src/api/config.ts";
import { DENSE_DIM, FEATURE_SPEC } from "../../src/features/mod.ts";
import {
  buildModelOnnx,
  createTsEngine,
  type Engine,
  loadEngine,
  randomModel,
  type SparseFeatures,
} from "../../src/model/mod.ts";
import type { RequestRecord } from "../../src/record/record.ts";
import {
  HeadCache,
  type HeadStore,
  headToJson,
  MemoryHeadStore,
  MemoryTenantStore,
  parseStoredHead,
  type StoredHead,
  type TenantStore,
} from "../../src/store/mod.ts";
import { DenoKvTenantStore } from "../../src/store/tenant_deno_kv.ts";
import { createWorkerApp } from "../../src/worker/app.ts";
import { workerConfigFromEnv } from "../../src/worker/config.ts";
import { ADMIN, labelled, testWorld } from "../api/_app.ts";
import { apiModelBytes, attackRecord, benignRecord, TEST_ADAPT } from "../api/_model.ts";
import { tsEngine, world } from "./_world.ts";

const HOST = "http://shop.example.com";
const TENANT = "shop.example.com";
const never = <T>() => new Promise<T>(() => {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A head that scores every request ≈ 1 (so `x-taugate-head: tenant` and the status show it was used). */
const HEAD: StoredHead = { version: 4, head: { w: new Array(16).fill(0), b: 10 }, tau: 0.5, createdAt: "t" };

/** A head store whose `get` does what `fault` says; counts its reads. */
function faultyHeads(fault: "throw" | "hang" | "late" | "corrupt" | "none", lateMs = 60) {
  const inner = new MemoryHeadStore();
  let reads = 0;
  const store: HeadStore = {
    kind: "faulty",
    async get(tenant) {
      reads++;
      if (fault === "throw") throw new Error("KV exploded");
      if (fault === "hang") return await never();
      if (fault === "late") await sleep(lateMs);
      if (fault === "corrupt") return { version: -1, head: "nope" } as unknown as StoredHead;
      return inner.get(tenant);
    },
    put: (t, d) => inner.put(t, d),
    delete: (t) => inner.delete(t),
  };
  return { store, inner, reads: () => reads };
}

Deno.test("head store faults: served in both fail modes, by the global head, with x-taugate-head: store-error; a hang is cut by the cache's timeout", async () => {
  for (const fault of ["throw", "hang", "corrupt"] as const) {
    for (const failMode of ["open", "closed"] as const) {
      for (const tau of ["0", "1"] as const) {
        const f = faultyHeads(fault);
        await f.inner.put(TENANT, HEAD);
        const cache = new HeadCache(f.store, { timeoutMs: 30, errorTtlMs: 60_000 });
        const w = world({ TAUGATE_MODE: "block", TAUGATE_TAU: tau, TAUGATE_FAIL_MODE: failMode }, {
          store: cache,
        });
        const what = `${fault}, ${failMode}, τ=${tau}`;
        // Five at once: one read between them, then the remembered failure answers without the store.
        const all = await Promise.all(Array.from({ length: 5 }, () => w.app.request(HOST + "/x")));
        all.push(await w.app.request(HOST + "/y"));
        for (const res of all) {
          assert.equal(res.status, tau === "0" ? 403 : 200, what);
          assert.equal(res.headers.get("x-taugate-head"), "store-error", what);
          assert.equal(res.headers.get("x-taugate-decision"), tau === "0" ? "block" : "allow", what);
          await res.body?.cancel();
        }
        assert.equal(f.reads(), 1, `${what}: one store read for six requests`);
        const line = JSON.parse(w.lines[0]);
        assert.match(line.head_reason, fault === "hang" ? /timed out after 30 ms/ : /faulty: /, what);
      }
    }
  }
});

Deno.test("head store answering after the timeout: that request falls back, the next one gets the tenant's head", async () => {
  const f = faultyHeads("late", 80);
  await f.inner.put(TENANT, HEAD);
  const w = world({ TAUGATE_MODE: "block", TAUGATE_TAU: "1" }, {
    store: new HeadCache(f.store, { timeoutMs: 20 }),
  });
  const first = await w.app.request(HOST + "/x");
  assert.equal(first.status, 200);
  assert.equal(first.headers.get("x-taugate-head"), "store-error");
  await sleep(120);
  const next = await w.app.request(HOST + "/x");
  assert.equal(next.headers.get("x-taugate-head"), "tenant");
  assert.equal(next.status, 403, "the tenant's head (τ 0.5, score ≈ 1) decides");
  assert.equal(f.reads(), 1, "the late read filled the cache");
});

/** Model bytes of another feature spec: the same shapes, another spec id. */
function otherSpecModel(): Uint8Array {
  const m = randomModel(3, {
    dim: FEATURE_SPEC.dim,
    denseDim: DENSE_DIM,
    hidden: 8,
    layers: [{ outDim: 4, activation: "tanh" }],
    specId: "tgfs1-00000000",
    modelId: "other-spec",
    tau: 0.5,
  });
  return buildModelOnnx(m.weights, m.head, m.meta, { quantize: "int8" });
}

/** The test model's engine with `embed` replaced (no `embedSync`: an asynchronous engine like ORT). */
function asyncEngine(embed: (f: SparseFeatures) => Promise<Float32Array>): Engine {
  const e = tsEngine();
  return { kind: "ort", meta: e.meta, embed, embedAndScore: () => never() } as unknown as Engine;
}

Deno.test("model faults: failMode open lets the request through with decision error; closed answers 503; hangs are cut", async () => {
  const garbage = new Uint8Array(4096).map((_, i) => (i * 37) & 255);
  const sources: [string, () => Engine | Promise<Engine>, RegExp, boolean][] = [
    [
      "garbage model bytes",
      () => loadEngine("ts", garbage),
      /ModelFormatError|not a taugate model|model/i,
      false,
    ],
    ["a model of another feature spec", () => loadEngine("ts", otherSpecModel()), /tgfs1-00000000/, false],
    [
      "an engine whose embed throws",
      () => asyncEngine(() => Promise.reject(new Error("wasm trap"))),
      /wasm trap/,
      true,
    ],
    [
      "an engine whose embed hangs",
      () => asyncEngine(() => never()),
      /EngineTimeoutError: the engine's embed took over 50 ms/,
      true,
    ],
    ["a load that hangs", () => never(), /EngineTimeoutError: the engine's load took over 50 ms/, false],
  ];
  for (const [name, source, why, loaded] of sources) {
    for (const failMode of ["open", "closed"] as const) {
      const w = world({ TAUGATE_MODE: "block", TAUGATE_FAIL_MODE: failMode }, {
        engine: source,
        engineTimeoutMs: 50,
      });
      const what = `${name}, ${failMode}`;
      // Three at once, then one more: none waits longer than the bound, none is left hanging.
      const all = await Promise.all([1, 2, 3].map((i) => w.app.request(`${HOST}/x?i=${i}`)));
      all.push(await w.app.request(HOST + "/x?i=4"));
      for (const res of all) {
        assert.equal(res.headers.get("x-taugate-decision"), "error", what);
        assert.equal(res.headers.get("x-taugate-score"), null, what);
        assert.equal(res.headers.get("x-taugate-model") === "-", !loaded, what);
        const body = await res.json();
        if (failMode === "open") {
          assert.equal(res.status, 200, what);
          assert.equal(body.path, "/x", `${what}: the app answered`);
        } else {
          assert.equal(res.status, 503, what);
          assert.deepEqual(Object.keys(body), ["error", "reason", "request_id"], what);
          assert.equal(body.error, "unavailable", what);
        }
      }
      const line = JSON.parse(w.lines.find((l) => l.includes('"decision":"error"'))!);
      assert.match(line.error, why, what);
    }
  }
});

Deno.test("a hung engine does not hold the isolate: once it answers again, requests are scored", async () => {
  let hang = true;
  const e = tsEngine();
  const engine = asyncEngine((f) => hang ? never() : Promise.resolve(e.embedSync(f)));
  const w = world({ TAUGATE_MODE: "tag" }, { engine, engineTimeoutMs: 30 });
  assert.equal((await w.app.request(HOST + "/x")).headers.get("x-taugate-decision"), "error");
  hang = false;
  const ok = await w.app.request(HOST + "/x");
  assert.ok(["allow", "tag"].includes(ok.headers.get("x-taugate-decision")!));
  assert.ok(ok.headers.get("x-taugate-score"));
});

// ---- the tenant API under storage faults -------------------------------------------------------------------

type Fault = "throw" | "hang" | "late" | null;
/** A MemoryTenantStore whose methods fail as `faults` says (set at any time). */
function faultyTenantStore() {
  const inner = new MemoryTenantStore();
  const faults: Record<string, Fault> = {};
  const calls: Record<string, number> = {};
  const wrap = <A extends unknown[], T>(name: string, f: (...a: A) => Promise<T>) => async (...a: A) => {
    calls[name] = (calls[name] ?? 0) + 1;
    const fault = faults[name];
    if (fault === "throw") throw new Error(`disk full (${name})`);
    if (fault === "hang") return await never<T>();
    if (fault === "late") await sleep(120);
    return await f(...a);
  };
  const store: TenantStore = {
    kind: "faulty",
    atomic: true,
    heads: {
      kind: "faulty",
      get: wrap("heads.get", (t: string) => inner.heads.get(t)),
      put: (t, d) => inner.heads.put(t, d),
      delete: (t) => inner.heads.delete(t),
    },
    learning: inner.learning,
    read: wrap("read", (t: string) => inner.read(t)),
    history: wrap("history", (t: string) => inner.history(t)),
    commit: wrap("commit", (t: string, c, s) => inner.commit(t, c, s)),
    getToken: wrap("getToken", (id: string) => inner.getToken(id)),
    putToken: wrap("putToken", (id: string, r) => inner.putToken(id, r)),
    deleteToken: wrap("deleteToken", (id: string) => inner.deleteToken(id)),
  };
  return { store, inner, faults, calls };
}

function apiWorld(store: TenantStore) {
  const lines: string[] = [];
  const env = { TAUGATE_MODE: "block", TAUGATE_ADMIN_TOKEN: ADMIN, TAUGATE_EXPOSE: "on" };
  const app = createWorkerApp({
    config: workerConfigFromEnv(env),
    engine: createTsEngine(apiModelBytes()),
    logSink: (l) => lines.push(l),
    api: { config: apiConfigFromEnv(env)!, store, storeTimeoutMs: 50 },
  });
  const api = (path: string, init: RequestInit & { token?: string } = {}) => {
    const { token = ADMIN, ...rest } = init;
    const headers = new Headers(rest.headers);
    headers.set("authorization", `Bearer ${token}`);
    return Promise.resolve(app.request("http://api.test/_taugate" + path, { ...rest, headers }));
  };
  const records = labelled([benignRecord(1), benignRecord(2), benignRecord(3)], 0);
  const upload = (token?: string) =>
    api(`/tenants/${TENANT}/examples`, {
      method: "POST",
      token,
      headers: { "content-type": "application/x-ndjson" },
      body: records.map((r) => JSON.stringify(r)).join("\n"),
    });
  return { app, api, upload, lines };
}

async function expect503(res: Response, what: string, re: RegExp) {
  const body = await res.json();
  assert.equal(res.status, 503, `${what}: ${JSON.stringify(body)}`);
  assert.equal(body.error, "store_unavailable", what);
  assert.match(body.reason, re, what);
}

Deno.test("tenant API, storage faults: 503 with a reason, nothing half-stored, hangs cut, the hot path unaffected", async () => {
  const f = faultyTenantStore();
  const w = apiWorld(f.store);
  const state = async () => ({
    active: (await f.inner.read(TENANT)).active,
    history: await f.inner.history(TENANT),
  });

  // Writes that throw, then hang: each a 503 within the bound, and nothing stored.
  for (const fault of ["throw", "hang"] as const) {
    f.faults.commit = fault;
    await expect503(
      await w.upload(),
      `commit ${fault}`,
      fault === "hang" ? /commit got no answer within 50 ms/ : /disk full/,
    );
    assert.deepEqual(await state(), { active: null, history: [] }, `commit ${fault}: nothing stored`);
  }
  // The hung commit still holds nothing: the tenant's next change is not queued behind it.
  f.faults.commit = null;
  const ok = await w.upload();
  assert.equal(ok.status, 201, await ok.clone().text());
  const v1 = (await ok.json()).version;
  assert.equal((await state()).active?.version, v1);

  // Reads that fail: 503 too.
  for (
    const [route, call, init] of [
      ["/head", "read", {}],
      ["/head", "history", {}],
      ["/head/rollback", "read", { method: "POST" }],
      ["/head", "history", { method: "DELETE" }],
    ] as const
  ) {
    for (const fault of ["throw", "hang"] as const) {
      f.faults[call] = fault;
      await expect503(
        await w.api(`/tenants/${TENANT}${route}`, init),
        `${route} ${call} ${fault}`,
        /faulty: /,
      );
      f.faults[call] = null;
    }
  }
  assert.equal((await state()).active?.version, v1, "still the one stored head");

  // Tokens: minting that fails stores no token; authentication that hangs is a 503, never a pass.
  f.faults.putToken = "throw";
  await expect503(await w.api(`/tenants/${TENANT}/tokens`, { method: "POST" }), "mint", /disk full/);
  f.faults.putToken = null;
  const minted = await (await w.api(`/tenants/${TENANT}/tokens`, { method: "POST" })).json();
  f.faults.getToken = "hang";
  await expect503(await w.api(`/tenants/${TENANT}/head`, { token: minted.token }), "auth hang", /getToken/);
  f.faults.getToken = "throw";
  await expect503(await w.api(`/tenants/${TENANT}/head`, { token: minted.token }), "auth throw", /disk full/);
  f.faults.getToken = null;
  assert.equal((await w.api(`/tenants/${TENANT}/head`, { token: minted.token })).status, 200);

  // The hot path meanwhile: the stored head scores the tenant's requests, whatever the API's storage does.
  f.faults.commit = "hang";
  const pending = w.upload();
  const hot = await w.app.request(`${HOST}/search?q=red+shoes`);
  assert.equal(hot.headers.get("x-taugate-head"), "tenant");
  await pending;
  f.faults.commit = null;
});

Deno.test("tenant API: a commit that lands after its bound is still one whole version", async () => {
  const f = faultyTenantStore();
  const w = apiWorld(f.store);
  f.faults.commit = "late"; // answers after 120 ms; the bound is 50 ms
  await expect503(await w.upload(), "late commit", /a write may still land/);
  await sleep(150);
  const { active } = await f.inner.read(TENANT);
  assert.ok(active !== null, "it landed");
  assert.doesNotThrow(() => parseStoredHead(active), "a complete, valid document");
  assert.deepEqual((await f.inner.history(TENANT)).map((d) => d.version), [active.version]);
});

// ---- two adaptations of one tenant at once ---------------------------------------------------------------

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

for (
  const [name, make] of [
    ["memory, one isolate", () => {
      const s = new MemoryTenantStore();
      return Promise.resolve({ a: s, b: s, close: () => {} });
    }],
    ["memory, two isolates", () => {
      const s = new MemoryTenantStore();
      return Promise.resolve({ a: s, b: s, close: () => {}, two: true });
    }],
    ["Deno KV, one isolate", async () => {
      const kv = await Deno.openKv(":memory:");
      const s = new DenoKvTenantStore(kv);
      return { a: s, b: s, close: () => kv.close() };
    }],
    ["Deno KV, two isolates (two handles on one file)", async () => {
      const dir = await Deno.makeTempDir();
      const k1 = await Deno.openKv(`${dir}/kv.sqlite3`);
      const k2 = await Deno.openKv(`${dir}/kv.sqlite3`);
      return {
        a: new DenoKvTenantStore(k1),
        b: new DenoKvTenantStore(k2),
        two: true,
        // SQLite refuses the second writer at once ("database is locked"); the store treats that as a
        // conflict, so the loser re-reads and retries (201) or gets a 409, never a 503.
        close: () => {
          k1.close(), k2.close();
          Deno.removeSync(dir, { recursive: true });
        },
      };
    }],
  ] as [
    string,
    () => Promise<{ a: TenantStore; b: TenantStore; close: () => void; two?: boolean }>,
  ][]
) {
  Deno.test(`two adaptations of one tenant at once (${name}): the stored head is exactly one of the two`, async () => {
    const { a, b, close, two } = await make();
    try {
      const w1 = testWorld({ store: a });
      const w2 = two ? testWorld({ store: b }) : w1;
      const sets: RequestRecord[][] = [
        labelled(range(12).map(benignRecord), 0),
        [...labelled(range(30, 60).map(benignRecord), 0), ...labelled(range(8).map(attackRecord), 1)],
      ];
      const engine = createTsEngine(apiModelBytes());
      const expected = await Promise.all(
        sets.map(async (s) =>
          JSON.stringify(headToJson((await fitTenantHead(engine, engine.head, TEST_ADAPT, s)).head))
        ),
      );
      assert.notEqual(expected[0], expected[1]);
      const [r1, r2] = await Promise.all([w1.upload(TENANT, sets[0]), w2.upload(TENANT, sets[1])]);
      const bodies = [await r1.json(), await r2.json()];
      for (const [i, r] of [r1, r2].entries()) {
        assert.ok(
          r.status === 201 || (r.status === 409 && bodies[i].error === "conflict"),
          JSON.stringify(bodies[i]),
        );
      }
      assert.ok(r1.status === 201 || r2.status === 201, "one of the two was stored");
      const active = (await a.read(TENANT)).active!;
      const which = expected.indexOf(JSON.stringify(active.head));
      assert.ok(which >= 0, "the active head is one upload's, whole");
      assert.equal(active.version, bodies[which].version, "and it is the version that upload was told");
      // The cache of each isolate was dropped: its next request uses the stored head.
      const res = await w1.send(TENANT, benignRecord(1));
      assert.equal(res.head, "tenant");
      for (const d of await a.history(TENANT)) assert.ok(expected.includes(JSON.stringify(d.head)));
    } finally {
      close();
    }
  });
}
