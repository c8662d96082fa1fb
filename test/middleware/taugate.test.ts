import assert from "node:assert/strict";
import { type Context, Hono } from "hono";
import { type Decision, taugate, type TaugateEnv, type TaugateOptions } from "../../src/middleware/mod.ts";
import { featuresOfRequest } from "../../src/features/mod.ts";
import { scoreWithHead } from "../../src/heads/score.ts";
import { buildSiteProfile, NOVELTY_DIM, profileBitsToBase64 } from "../../src/heads/site_profile.ts";
import {
  HeadCache,
  headFromJson,
  type HeadStore,
  MemoryHeadStore,
  type StoredHead,
} from "../../src/store/mod.ts";
import { fakeEngine } from "./_fake_engine.ts";
import { Learner } from "../../src/learn/learner.ts";

const HOST = "http://shop.example.com";
const ATTACK = "/search?q=" + encodeURIComponent("<script>alert(document.cookie)</script>");
const BENIGN = "/search?q=red+shoes";

interface Harness {
  app: Hono<TaugateEnv>;
  lines: string[];
  /** What the handler saw, per request. */
  seen: { decision: Decision | undefined; headers: Headers; body: string }[];
}

function harness(
  options: Partial<TaugateOptions> = {},
  handler?: (c: Context<TaugateEnv>) => Response | Promise<Response>,
): Harness {
  const lines: string[] = [];
  const seen: Harness["seen"] = [];
  const app = new Hono<TaugateEnv>();
  app.use(
    "*",
    taugate({
      engine: fakeEngine(),
      exposeToClient: true,
      log: { sample: 1, sink: (l) => lines.push(l) },
      ...options,
    }),
  );
  app.all("*", async (c) => {
    seen.push({ decision: c.get("taugate"), headers: c.req.raw.headers, body: await c.req.text() });
    return handler ? handler(c) : c.text("origin says hi");
  });
  return { app, lines, seen };
}

const get = (h: Harness, path: string, init?: RequestInit) => h.app.request(HOST + path, init);

Deno.test("block mode: an attack gets a 403 JSON and never reaches the handler", async () => {
  const h = harness({ mode: "block" });
  const res = await get(h, ATTACK);
  assert.equal(res.status, 403);
  const body = await res.json();
  assert.equal(body.error, "blocked");
  assert.ok(body.score > 0.5 && body.score <= 1, String(body.score));
  assert.equal(body.tau, 0.5);
  assert.match(body.request_id, /^tg-[0-9a-f]{12}-/);
  assert.equal(res.headers.get("x-taugate-decision"), "block");
  assert.equal(Number(res.headers.get("x-taugate-score")), body.score);
  assert.equal(res.headers.get("x-taugate-model"), "fake-1");
  assert.equal(res.headers.get("x-taugate-tenant"), "shop.example.com");
  assert.equal(res.headers.get("x-taugate-head"), "global");
  assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
  assert.equal(h.seen.length, 0);
});

Deno.test("block mode: a benign request goes through with the decision headers and c.get('taugate')", async () => {
  const h = harness({ mode: "block" });
  const res = await get(h, BENIGN);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "origin says hi");
  assert.equal(res.headers.get("x-taugate-decision"), "allow");
  const score = Number(res.headers.get("x-taugate-score"));
  assert.ok(score >= 0 && score < 0.5, String(score));
  assert.equal(h.seen.length, 1);
  assert.equal(h.seen[0].decision?.decision, "allow");
  // The header carries 4 significant digits of the handler's exact score.
  assert.equal(Number(h.seen[0].decision!.score!.toPrecision(4)), score);
  // Only tag mode adds decision headers to the request the handler sees.
  assert.equal(h.seen[0].headers.get("x-taugate-decision"), null);
});

Deno.test("tag mode: an attack reaches the handler, and the request and the response carry the decision", async () => {
  const h = harness({ mode: "tag" });
  const res = await get(h, ATTACK);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-taugate-decision"), "tag");
  assert.equal(h.seen[0].headers.get("x-taugate-decision"), "tag");
  assert.equal(h.seen[0].headers.get("x-taugate-score"), res.headers.get("x-taugate-score"));
  assert.equal(h.seen[0].headers.get("x-taugate-tenant"), "shop.example.com");
  const benign = await get(h, BENIGN);
  assert.equal(benign.headers.get("x-taugate-decision"), "allow");
  assert.equal(h.seen[1].headers.get("x-taugate-decision"), "allow");
});

Deno.test("log mode: nothing is acted on, the flagged request is logged as such", async () => {
  const h = harness({ mode: "log" });
  const res = await get(h, ATTACK);
  assert.equal(res.status, 200);
  // The header says what block mode would have done; the log line and c.get("taugate") what was done.
  assert.equal(res.headers.get("x-taugate-decision"), "would-block");
  assert.ok(Number(res.headers.get("x-taugate-score")) >= 0.5);
  assert.equal(h.seen[0].decision?.decision, "allow");
  assert.equal(h.lines.length, 1);
  const line = JSON.parse(h.lines[0]);
  assert.equal(line.decision, "allow");
  assert.equal(line.flagged, true);
  assert.equal(line.mode, "log");
});

Deno.test("off mode: no engine, no headers, no log line (the kill switch)", async () => {
  let loads = 0;
  const h = harness({ mode: "off", engine: () => (loads++, fakeEngine()) });
  const res = await get(h, ATTACK);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-taugate-decision"), null);
  assert.equal(res.headers.get("x-taugate-score"), null);
  assert.equal(loads, 0);
  assert.equal(h.lines.length, 0);
  assert.equal(h.seen[0].decision, undefined);
});

Deno.test("exclusions: matching paths, methods and content types are not scored at all", async () => {
  const engine = fakeEngine();
  const h = harness({
    engine,
    exclude: {
      paths: ["/healthz", "/static/*", "*.css"],
      methods: ["options"],
      contentTypes: ["image/*", "application/octet-stream"],
    },
  });
  const skipped: [string, RequestInit?][] = [
    ["/healthz?q=<script>alert(1)</script>"],
    ["/static/app.js?<script>alert(1)</script>"],
    ["/theme/site.css"],
    [ATTACK, { method: "OPTIONS" }],
    [ATTACK, { method: "POST", body: "x", headers: { "content-type": "image/png" } }],
    [ATTACK, { method: "POST", body: "x", headers: { "content-type": "Application/Octet-Stream; x=1" } }],
  ];
  for (const [path, init] of skipped) {
    const res = await get(h, path, init);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get("x-taugate-decision"), null, path);
  }
  assert.equal(engine.calls, 0);
  // Near misses are scored.
  for (const path of ["/healthz/x", "/static", "/site.css.map", ATTACK]) {
    const res = await get(h, path);
    assert.notEqual(res.headers.get("x-taugate-decision"), null, path);
  }
  assert.equal(engine.calls, 4);
});

Deno.test("fail mode open: a model that cannot load lets requests through with decision error", async () => {
  const h = harness({ engine: () => Promise.reject(new Error("model missing")), failMode: "open" });
  const res = await get(h, ATTACK);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-taugate-decision"), "error");
  assert.equal(res.headers.get("x-taugate-score"), null);
  assert.equal(res.headers.get("x-taugate-model"), "-");
  const line = JSON.parse(h.lines[0]);
  assert.equal(line.decision, "error");
  assert.match(line.error, /model missing/);
  assert.equal(h.seen[0].decision?.decision, "error");
});

Deno.test("fail mode closed: a model that cannot load answers 503 JSON without internal details", async () => {
  const h = harness({ engine: () => Promise.reject(new Error("secret path /x/y")), failMode: "closed" });
  const res = await get(h, BENIGN);
  assert.equal(res.status, 503);
  const body = await res.json();
  assert.equal(body.error, "unavailable");
  assert.ok(body.request_id);
  assert.ok(!JSON.stringify(body).includes("secret path"));
  assert.equal(res.headers.get("x-taugate-decision"), "error");
  assert.equal(h.seen.length, 0);
});

Deno.test("fail modes: scoring that throws is an error decision; open passes, closed 503s", async () => {
  for (const [failMode, status] of [["open", 200], ["closed", 503]] as const) {
    const h = harness({ engine: fakeEngine({ throwOnEmbed: true }), failMode });
    const res = await get(h, BENIGN);
    assert.equal(res.status, status, failMode);
    assert.equal(res.headers.get("x-taugate-decision"), "error");
    assert.match(JSON.parse(h.lines[0]).error, /embed failed/);
  }
});

Deno.test("a model trained for another feature spec is a load failure", async () => {
  const h = harness({ engine: fakeEngine({ meta: { specId: "tgfs0-00000000" } }), failMode: "closed" });
  assert.equal((await get(h, BENIGN)).status, 503);
  assert.match(JSON.parse(h.lines[0]).error, /feature spec tgfs0-00000000/);
});

Deno.test("the engine is created lazily, once for concurrent requests, and retried after a failure", async () => {
  let loads = 0;
  let fail = true;
  const h = harness({
    engine: async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 5));
      if (fail) throw new Error("not yet");
      return fakeEngine();
    },
    engineRetryMs: 30,
  });
  assert.equal(loads, 0, "nothing loads at start-up");
  const first = await Promise.all([get(h, BENIGN), get(h, BENIGN), get(h, BENIGN)]);
  assert.equal(loads, 1);
  for (const r of first) assert.equal(r.headers.get("x-taugate-decision"), "error");
  fail = false;
  assert.equal((await get(h, BENIGN)).headers.get("x-taugate-decision"), "error", "within the retry delay");
  assert.equal(loads, 1);
  await new Promise((r) => setTimeout(r, 40));
  assert.equal((await get(h, BENIGN)).headers.get("x-taugate-decision"), "allow");
  assert.equal((await get(h, BENIGN)).headers.get("x-taugate-decision"), "allow");
  assert.equal(loads, 2);
});

Deno.test("decision header names are configurable", async () => {
  const h = harness({ headers: { score: "x-risk", decision: "x-risk-decision" }, mode: "tag" });
  const res = await get(h, ATTACK);
  assert.equal(res.headers.get("x-risk-decision"), "tag");
  assert.ok(Number(res.headers.get("x-risk")) > 0.5);
  assert.equal(res.headers.get("x-taugate-decision"), null);
  assert.equal(res.headers.get("x-taugate-model"), "fake-1");
  assert.equal(h.seen[0].headers.get("x-risk-decision"), "tag");
});

Deno.test("a client's own decision headers never reach the handler", async () => {
  const h = harness({ mode: "block" });
  await get(h, BENIGN, { headers: { "x-taugate-decision": "allow", "x-taugate-score": "0" } });
  assert.equal(h.seen[0].headers.get("x-taugate-decision"), null);
  assert.equal(h.seen[0].headers.get("x-taugate-score"), null);
  const t = harness({ mode: "tag" });
  await get(t, ATTACK, { headers: { "x-taugate-decision": "allow" } });
  assert.equal(t.seen[0].headers.get("x-taugate-decision"), "tag");
});

Deno.test("responses with immutable headers (redirects, fetched responses) still get the decision", async () => {
  const h = harness({}, () => Response.redirect("http://shop.example.com/elsewhere", 302));
  const res = await get(h, BENIGN);
  assert.equal(res.status, 302);
  assert.equal(res.headers.get("location"), "http://shop.example.com/elsewhere");
  assert.equal(res.headers.get("x-taugate-decision"), "allow");
});

const headDoc = (version: number, w: number[], extra: Partial<StoredHead> = {}): StoredHead => ({
  version,
  head: { w, b: 0 },
  createdAt: "2026-11-29T12:00:00.000Z",
  ...extra,
});

Deno.test("tenant heads: the tenant's head and τ replace the global ones; other tenants keep the global head", async () => {
  const store = new MemoryHeadStore();
  // This tenant's head turns the fake's attack axis around: what the global head blocks, it allows.
  await store.put("shop.example.com", headDoc(7, [-1, 0]));
  await store.put("strict.example.com", headDoc(2, [1, 0], { tau: 0.01 }));
  const h = harness({ store });
  const mine = await get(h, ATTACK);
  assert.equal(mine.status, 200);
  assert.equal(mine.headers.get("x-taugate-head"), "tenant");
  assert.equal(h.seen[0].decision?.headVersion, 7);
  assert.ok(Number(mine.headers.get("x-taugate-score")) < 0.5);
  const other = await h.app.request("http://other.example.com" + ATTACK);
  assert.equal(other.status, 403);
  assert.equal(other.headers.get("x-taugate-head"), "global");
  assert.equal(other.headers.get("x-taugate-tenant"), "other.example.com");
  // τ = 0.01 of the strict tenant blocks what the global τ = 0.5 allows.
  const strict = await h.app.request("http://strict.example.com" + BENIGN);
  assert.equal(strict.status, 403);
  assert.equal((await strict.json()).tau, 0.01);
});

Deno.test("tenant heads: a head fitted for another model is not used (stale)", async () => {
  const store = new MemoryHeadStore();
  await store.put("shop.example.com", headDoc(3, [-1, 0], { modelId: "older-model" }));
  await store.put("wide.example.com", headDoc(1, [-1, 0, 0]));
  const h = harness({ store });
  const res = await get(h, ATTACK);
  assert.equal(res.status, 403);
  assert.equal(res.headers.get("x-taugate-head"), "stale");
  assert.match(JSON.parse(h.lines[0]).head_reason, /older-model/);
  const wide = await h.app.request("http://wide.example.com" + ATTACK);
  assert.equal(wide.headers.get("x-taugate-head"), "stale");
});

Deno.test("a store that throws never fails a request: the global head scores it and the header says so", async () => {
  const broken: HeadStore = {
    kind: "broken",
    get: () => Promise.reject(new Error("KV exploded")),
    put: () => Promise.reject(new Error("no")),
    delete: () => Promise.reject(new Error("no")),
  };
  for (const failMode of ["open", "closed"] as const) {
    const h = harness({ store: broken, failMode });
    const benign = await get(h, BENIGN);
    assert.equal(benign.status, 200);
    assert.equal(benign.headers.get("x-taugate-head"), "store-error");
    assert.equal(benign.headers.get("x-taugate-decision"), "allow");
    const attack = await get(h, ATTACK);
    assert.equal(attack.status, 403);
    assert.equal(attack.headers.get("x-taugate-head"), "store-error");
    assert.match(JSON.parse(h.lines[0]).head_reason, /broken: KV exploded/);
  }
});

Deno.test("a store that hangs costs at most the cache timeout", async () => {
  const hung: HeadStore = {
    kind: "hung",
    get: () => new Promise(() => {}),
    put: () => Promise.resolve(),
    delete: () => Promise.resolve(),
  };
  const h = harness({ store: new HeadCache(hung, { timeoutMs: 30 }) });
  const t0 = performance.now();
  const res = await get(h, BENIGN);
  const ms = performance.now() - t0;
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-taugate-head"), "store-error");
  assert.ok(ms >= 25 && ms < 5000, `took ${ms} ms`);
});

Deno.test("tenants: a custom resolver; an invalid id scores with the global head and shows as -", async () => {
  const store = new MemoryHeadStore();
  await store.put("acme", headDoc(1, [-1, 0]));
  const h = harness({ store, tenant: (c) => c.req.header("x-tenant") });
  assert.equal(
    (await get(h, ATTACK, { headers: { "x-tenant": "acme" } })).headers.get("x-taugate-head"),
    "tenant",
  );
  const bad = await get(h, ATTACK, { headers: { "x-tenant": "../etc" } });
  assert.equal(bad.headers.get("x-taugate-tenant"), "-");
  assert.equal(bad.headers.get("x-taugate-head"), "global");
  const none = await get(h, ATTACK);
  assert.equal(none.headers.get("x-taugate-tenant"), "-");
  // The default resolver: the host name, without port; an IPv6 literal is no tenant.
  const d = harness();
  assert.equal(
    (await d.app.request("http://Shop.Example.com:8443/")).headers.get("x-taugate-tenant"),
    "shop.example.com",
  );
  assert.equal((await d.app.request("http://[::1]:8000/")).headers.get("x-taugate-tenant"), "-");
});

Deno.test("request ids: cf-ray when present, in the 403 body and the log line", async () => {
  const h = harness();
  const res = await get(h, ATTACK, { headers: { "cf-ray": "8a1b2c3d4e5f6789-AMS" } });
  assert.equal((await res.json()).request_id, "8a1b2c3d4e5f6789-AMS");
  assert.equal(JSON.parse(h.lines[0]).request_id, "8a1b2c3d4e5f6789-AMS");
  const a = await (await get(h, ATTACK)).json(), b = await (await get(h, ATTACK)).json();
  assert.notEqual(a.request_id, b.request_id);
});

Deno.test("the log line: one per decision, JSON, with no secrets, query or body", async () => {
  const h = harness({ mode: "tag" });
  await get(h, "/login?token=SECRET-QUERY-TOKEN&q=<script>alert(1)</script>", {
    method: "POST",
    headers: {
      authorization: "Bearer SECRET-BEARER",
      cookie: "session=SECRET-COOKIE",
      "x-api-key": "SECRET-API-KEY",
      "content-type": "application/x-www-form-urlencoded",
    },
    body: "password=SECRET-BODY",
  });
  assert.equal(h.lines.length, 1);
  assert.ok(!h.lines[0].includes("SECRET"), h.lines[0]);
  const line = JSON.parse(h.lines[0]);
  for (const k of ["request_id", "decision", "score", "tau", "tenant", "head", "model", "method", "path"]) {
    assert.ok(k in line, k);
  }
  assert.equal(line.path, "/login");
  assert.equal(line.msg, "taugate");
});

Deno.test("log sampling: allow decisions at `sample`, flagged ones at `flaggedSample`, or no log at all", async () => {
  const h = harness({ log: { sample: 0, flaggedSample: 1, sink: (l) => lines.push(l) } });
  const lines: string[] = [];
  for (let i = 0; i < 5; i++) await get(h, BENIGN);
  assert.equal(lines.length, 0);
  await get(h, ATTACK);
  assert.equal(lines.length, 1);
  const quiet = harness({ log: false });
  await get(quiet, ATTACK);
  assert.equal(quiet.lines.length, 0);
  // A fractional rate logs about that fraction.
  const some: string[] = [];
  const s = harness({ log: { sample: 0.5, sink: (l) => some.push(l) } });
  for (let i = 0; i < 200; i++) await get(s, BENIGN);
  assert.ok(some.length > 50 && some.length < 150, `${some.length} of 200`);
});

Deno.test("concurrent requests each get their own score (features are not shared across awaits)", async () => {
  const engine = fakeEngine({ delayMs: 2 });
  const h = harness({ engine });
  const paths = Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? ATTACK + "&n=" + i : BENIGN + "&n=" + i));
  const results = await Promise.all(paths.map((p) => get(h, p)));
  for (const [i, r] of results.entries()) assert.equal(r.status, i % 3 === 0 ? 403 : 200, paths[i]);
  // One call a request, and one more for each attack's value view (its payload alone, beside `n`).
  assert.equal(engine.calls, 24 + 8);
});

Deno.test("the body: features read at most bodyCap bytes, and the handler still gets every byte", async () => {
  const payload = "a=" + "x".repeat(2000) + "&b=" +
    encodeURIComponent("<script>alert(document.cookie)</script>");
  const init = () => ({
    method: "POST",
    body: payload,
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  const full = harness();
  assert.equal((await get(full, "/form", init())).status, 403);
  // Past the cap the request's own features do not see the attack; its overflow views do (by default).
  const capped = harness({ bodyCap: 1024, overflow: false });
  const res = await get(capped, "/form", init());
  assert.equal(
    res.status,
    200,
    "the attack lies beyond the cap, and overflow views are off, so it is not seen",
  );
  assert.equal(capped.seen[0].body, payload);
  const viewed = harness({ bodyCap: 1024 });
  assert.equal((await get(viewed, "/form", init())).status, 403, "an overflow view holds the attack");
});

Deno.test("overflow views: a payload behind padding past every read limit is scored, and the request still goes on whole", async () => {
  const xss = encodeURIComponent("<script>alert(document.cookie)</script>");
  const cases: [string, string, RequestInit?][] = [
    ["a value past 1,024 characters", "/search?q=" + "a".repeat(1100) + xss],
    ["a query past 4,096 characters", "/search?pad=" + "b".repeat(5000) + "&q=" + xss],
    [
      "past 128 parameters",
      "/search?" + Array.from({ length: 130 }, (_, i) => `p${i}=1`).join("&") + "&q=" + xss,
    ],
    ["a form body past 8,192 bytes", "/form", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "pad=" + "c".repeat(9000) + "&q=" + xss,
    }],
    ["a JSON string past 1,024 characters", "/api", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ note: "d".repeat(2000) + "<script>alert(document.cookie)</script>" }),
    }],
    ["a multipart field past 512 characters", "/upload", {
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=XyZ" },
      body: '--XyZ\r\nContent-Disposition: form-data; name="c"\r\n\r\n' + "e".repeat(600) +
        "<script>alert(document.cookie)</script>\r\n--XyZ--\r\n",
    }],
    ["a user agent past 512 characters", "/", {
      headers: { "user-agent": "Mozilla/5.0 " + "f".repeat(600) + "<script>alert(document.cookie)</script>" },
    }],
  ];
  for (const [name, path, init] of cases) {
    const on = harness();
    const res = await get(on, path, init);
    assert.equal(res.status, 403, name);
    const off = harness({ overflow: false });
    // (This engine scores keyword counts, which see a multipart part's text past its 512 characters.)
    if (!name.startsWith("a multipart")) {
      assert.equal((await get(off, path, init)).status, 200, `${name}: unseen without overflow views`);
    } else await get(off, path, init);
    // Tagged, the request goes on to the origin with every byte of its body.
    const tagged = harness({ mode: "tag" });
    assert.equal((await get(tagged, path, init)).status, 200, name);
    assert.equal(tagged.seen[0].decision?.flagged, true, name);
    if (init?.body !== undefined) {
      assert.equal(tagged.seen[0].body, init.body, `${name}: the origin gets every byte`);
    }
  }
  // Padding alone is not an attack: the same requests without the payload pass.
  const plain = harness();
  assert.equal((await get(plain, "/search?q=" + "a".repeat(1100))).status, 200);
  assert.equal(
    (await get(plain, "/form", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "pad=" + "c".repeat(9000) + "&q=red+shoes",
    })).status,
    200,
  );
});

Deno.test("overflow views: learning learns the request's own structure tokens, not a view's", async () => {
  // An ordinary padded request: the caps cut its value, and its one view holds only that parameter.
  const path = "/search?x=1&y=2&q=" + "a".repeat(1100);
  for (const delayMs of [0, 2]) {
    const learner = new Learner();
    const h = harness({ engine: fakeEngine({ delayMs }), learn: learner });
    assert.equal((await get(h, path)).status, 200);
    const own = await featuresOfRequest(new Request(HOST + path));
    const want = new Set(own.structure);
    const got = new Map(learner.state("shop.example.com")!.tokens.entries());
    assert.deepEqual(new Set(got.keys()), want, `delay ${delayMs}: the request's tokens, every one`);
  }
});

Deno.test("overflow views: a body past the bytes inspected is logged as partly inspected, and `uninspected: flag` blocks it", async () => {
  const init = () => ({
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: "g".repeat(20_000) + "<script>alert(document.cookie)</script>",
  });
  const scored = harness({ overflow: { bodyBytes: 12_000 }, log: { sample: 1, sink: () => {} } });
  const res = await get(scored, "/notes", init());
  assert.equal(res.status, 200, "the payload lies past the 12,000 bytes inspected");
  assert.equal(scored.seen[0].decision?.inspected, "partial");
  assert.equal(scored.seen[0].body, init().body);
  const flagged = harness({ overflow: { bodyBytes: 12_000, uninspected: "flag" } });
  assert.equal((await get(flagged, "/notes", init())).status, 403);
  // Within the bytes inspected: scored whole, nothing partial.
  const whole = harness({ overflow: { bodyBytes: 64_000, uninspected: "flag" } });
  assert.equal((await get(whole, "/notes", init())).status, 403);
  const small = harness({ overflow: { uninspected: "flag" } });
  assert.equal((await get(small, "/notes", { ...init(), body: "g".repeat(20_000) })).status, 200);
  assert.equal(small.seen[0].decision?.inspected, undefined);
});

Deno.test("options are checked when the factory runs, and the message names the option", () => {
  const engine = fakeEngine();
  const bad: [Record<string, unknown>, RegExp][] = [
    [{}, /"engine"/],
    [{ engine: 42 }, /"engine": must be an Engine/],
    [{ engine, mode: "deny" }, /"mode"/],
    [{ engine, tau: 1.5 }, /"tau"/],
    [{ engine, tau: "0.5" }, /"tau"/],
    [{ engine, failMode: "ajar" }, /"failMode"/],
    [{ engine, bodyCap: -1 }, /"bodyCap"/],
    [{ engine, bodyCap: 1e9 }, /"bodyCap"/],
    [{ engine, overflow: { maxViews: -1 } }, /"overflow/],
    [{ engine, overflow: { uninspected: "drop" } }, /"overflow/],
    [{ engine, overflow: true }, /"overflow"/],
    [{ engine, tenant: "host" }, /"tenant"/],
    [{ engine, store: {} }, /"store"/],
    [{ engine, exclude: { paths: ["static/*"] } }, /"exclude.paths.0"/],
    [{ engine, exclude: { paths: ["/a*b"] } }, /"exclude.paths.0"/],
    [{ engine, exclude: { hosts: [] } }, /"exclude": unknown option\(s\) hosts/],
    [{ engine, headers: { score: "X Score" } }, /"headers.score"/],
    [{ engine, headers: { score: "x-a", decision: "x-a" } }, /"headers": names must be distinct/],
    [{ engine, log: { sample: 2 } }, /"log/],
    [{ engine, cache: { ttlMs: -5 } }, /"cache.ttlMs"/],
    [{ engine, store: new HeadCache(new MemoryHeadStore()), cache: {} }, /"cache"/],
    [{ engine, modes: "block" }, /unknown option\(s\) modes/],
  ];
  for (const [opts, re] of bad) {
    assert.throws(() => taugate(opts as unknown as TaugateOptions), (e: Error) => {
      assert.ok(e instanceof TypeError, e.message);
      assert.match(e.message, /^taugate: /);
      assert.match(e.message, re);
      return true;
    }, JSON.stringify(Object.keys(opts)));
  }
  assert.doesNotThrow(() => taugate({ engine, mode: "tag", tau: 0, failMode: "closed", bodyCap: 0 }));
});

Deno.test("workerd: the engine load and a store read are handed to waitUntil, hits are not", async () => {
  const store = new MemoryHeadStore();
  await store.put("shop.example.com", headDoc(1, [1, 0]));
  const h = harness({ engine: () => Promise.resolve(fakeEngine()), store });
  const kept: Promise<unknown>[] = [];
  const ctx = {
    waitUntil: (p: Promise<unknown>) => void kept.push(p),
    passThroughOnException: () => {},
    props: {},
  };
  const first = await h.app.request(HOST + BENIGN, {}, undefined, ctx);
  assert.equal(first.headers.get("x-taugate-head"), "tenant");
  assert.equal(kept.length, 2, "the engine load and the KV read");
  await Promise.all(kept);
  await h.app.request(HOST + BENIGN, {}, undefined, ctx);
  assert.equal(kept.length, 2, "a warm engine and a cached head start nothing");
});

Deno.test("tenant heads with a site profile (a, profile) round-trip through the store and score as scoreWithHead does", async () => {
  const store = new MemoryHeadStore();
  // The site's profile: its usual requests (benign searches); the attack's parameter shape is new to it.
  const usual = await Promise.all(
    ["/search?q=red+shoes", "/search?q=blue", "/item?id=3"].map(async (p) =>
      (await featuresOfRequest(new Request(HOST + p))).structure
    ),
  );
  const profile = buildSiteProfile(usual, { minCount: 1, weight: 0.9 });
  const a = Array.from({ length: NOVELTY_DIM }, (_, k) => 0.5 + k / 10);
  const head = {
    w: [0.5, 0.01],
    b: -0.2,
    a,
    profile: { ...profile, bits: profileBitsToBase64(profile.bits) },
  };
  await store.put("shop.example.com", headDoc(4, [], { head }));
  const engine = fakeEngine();
  const h = harness({ engine, store, mode: "log" });
  const res = await get(h, ATTACK);
  assert.equal(res.headers.get("x-taugate-head"), "tenant");
  const f = await featuresOfRequest(new Request(HOST + ATTACK));
  const z = await fakeEngine().embed(f);
  const want = scoreWithHead(headFromJson(head), z, f.structure);
  assert.equal(Number(res.headers.get("x-taugate-score")), Number(want.toPrecision(4)));
  assert.ok(want > scoreWithHead(headFromJson({ w: head.w, b: head.b }), z), "the novelty term counts");
  // A request the site knows gets no novelty term.
  const known = await get(h, BENIGN);
  const fb = await featuresOfRequest(new Request(HOST + BENIGN));
  const zb = await fakeEngine().embed(fb);
  assert.equal(
    Number(known.headers.get("x-taugate-score")),
    Number(scoreWithHead({ w: new Float32Array(head.w), b: head.b }, zb).toPrecision(4)),
  );
});

Deno.test("a malformed tenant head (a score that is not a number) falls back to the global head", async () => {
  const store = new MemoryHeadStore();
  // Finite JSON numbers beyond float32's range: the weights become +∞ and −∞, and the logit NaN.
  await store.put("shop.example.com", headDoc(2, [], { head: { w: [1e39, -1e39], b: 0 } }));
  const h = harness({ store, failMode: "closed" });
  const res = await get(h, ATTACK);
  assert.equal(res.status, 403, "scored by the global head, not failed");
  assert.equal(res.headers.get("x-taugate-head"), "store-error");
  assert.match(JSON.parse(h.lines[0]).head_reason, /head v2 gave the score NaN/);
});

Deno.test("an engine that cannot load: logged once per isolate at error level; status and ready() say so", async () => {
  const errors: string[] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => void errors.push(a.map(String).join(" "));
  try {
    let loads = 0;
    const mw = taugate({
      engine: () => (loads++, Promise.reject(new Error("loadEngine: the ort engine needs its WebAssembly"))),
      engineRetryMs: 0,
      log: false,
    });
    assert.deepEqual(mw.status(), { state: "idle" });
    const app = new Hono<TaugateEnv>();
    app.use("*", mw);
    app.all("*", (c) => c.text("ok"));
    for (let i = 0; i < 5; i++) assert.equal((await app.request(HOST + BENIGN)).status, 200);
    assert.ok(loads >= 5, "each request retried the load (retry 0 ms)");
    assert.equal(errors.length, 1, errors.join("\n"));
    const line = JSON.parse(errors[0]);
    assert.match(line.msg, /cannot load/);
    assert.equal(line.fail_mode, "open");
    assert.match(line.error, /needs its WebAssembly/);
    const s = await mw.ready();
    assert.equal(s.state, "failed");
    assert.match(s.error!, /needs its WebAssembly/);
  } finally {
    console.error = original;
  }
  const ok = taugate({ engine: fakeEngine(), log: false });
  const s = await ok.ready();
  assert.equal(s.state, "ready");
  assert.equal(typeof s.model, "string");
  assert.deepEqual(ok.status(), s);
});
