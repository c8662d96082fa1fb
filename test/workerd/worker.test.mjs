// The standalone worker on real workerd (Miniflare), bundled from its real entries (src/worker/workerd.ts
// with onnxruntime-web from the precompiled wasm, src/worker/workerd_ts.ts with the TypeScript engine) with a
// test model, real Workers KV, and a real origin: it blocks, tags and allows as the same app does on Deno,
// with the same scores (computed by Deno in this test), and uses a tenant head put in KV.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { bundleForNode, bundleWorker, COMPATIBILITY_DATE, ROOT, startMiniflare } from "./_helpers.mjs";

const DENO = join(ROOT, "tools/node_modules/.bin/deno");
// The date wrangler.toml deploys with: the pinned workerd must support it.
// What the request reaches workerd with through Miniflare, set explicitly so that Deno scores the same
// request (workerd rewrites accept-encoding; undici adds the others when absent).
const TRANSPORT = { accept: "*/*", "accept-language": "*", "user-agent": "undici", "sec-fetch-mode": "cors" };
const SKIP_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
const KV_TENANT = "kv.block.test";

let mf, mfForward, dir, requests, deno, denoTs, tenantDeno, tau, tenantTau, modelId, origin, originSeen;

/** The requests of the fixtures, on a given host, as both runtimes receive them. */
function wireRequests(host) {
  const out = [];
  for (const line of readFileSync(join(ROOT, "test/fixtures/requests.jsonl"), "utf8").split("\n")) {
    if (!line) continue;
    const rec = JSON.parse(line);
    if (SKIP_METHODS.has(rec.method.toUpperCase())) continue;
    const u = new URL(rec.url, "http://placeholder.invalid");
    const headers = {};
    for (const [k, v] of Object.entries(TRANSPORT)) {
      if (!Object.keys(rec.headers ?? {}).some((h) => h.toLowerCase() === k)) headers[k] = v;
    }
    for (const [k, v] of Object.entries(rec.headers ?? {})) {
      if (k.toLowerCase() !== "host" && k.toLowerCase() !== "accept-encoding") headers[k] = v;
    }
    headers["accept-encoding"] = "br, gzip";
    const hasBody = rec.body && rec.method !== "GET" && rec.method !== "HEAD";
    out.push({
      name: rec.name,
      method: rec.method,
      url: `http://${host}${u.pathname}${u.search}`,
      headers,
      body: hasBody ? rec.body : undefined,
    });
  }
  return out;
}

/** Scores on Deno: the same app and model, through `test/workerd/_deno_scores.ts`. */
function denoScores(model, engine, reqs, heads) {
  const input = JSON.stringify({ model, engine, requests: reqs, heads });
  const r = spawnSync(DENO, ["run", "--allow-read", "--allow-env", "test/workerd/_deno_scores.ts"], {
    cwd: ROOT,
    input,
    encoding: "utf8",
    maxBuffer: 1 << 24,
    env: { ...process.env, NO_COLOR: "1" },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** A threshold between two neighbouring scores near the median, far from both (no flips from 1e-5 noise). */
function midThreshold(scores) {
  const s = [...scores].sort((a, b) => a - b);
  let best = 0, at = 0.5;
  for (let i = Math.floor(s.length / 4); i < Math.ceil((3 * s.length) / 4) - 1; i++) {
    if (s[i + 1] - s[i] > best) best = s[i + 1] - s[i], at = (s[i] + s[i + 1]) / 2;
  }
  assert.ok(best > 1e-4, `no gap between scores near the median (${best})`);
  return at;
}

before(async () => {
  const ref = await bundleForNode(`export { testModelBytes, TEST_MODEL_ID } from "./test/worker/_model.ts";`);
  modelId = ref.TEST_MODEL_ID;
  dir = mkdtempSync(join(tmpdir(), "taugate-workerd-"));
  const model = join(dir, "taugate.onnx");
  writeFileSync(model, ref.testModelBytes());

  requests = wireRequests("block.test");
  deno = denoScores(model, "ort", requests);
  denoTs = denoScores(model, "ts", requests);
  tau = midThreshold(deno.map((d) => d.score));

  // The tenant head: the global head negated, so the tenant's scores are the global ones mirrored (1 - s).
  const meta = await bundleForNode(`
    import { readModelMeta } from "./src/model/onnx/read.ts";
    export const meta = readModelMeta(new Uint8Array(${JSON.stringify([...readFileSync(model)])}));
  `).then((m) => m.meta);
  const tenantDoc = {
    version: 3,
    head: { w: meta.head.w.map((x) => -x), b: -meta.head.b },
    createdAt: "2026-11-29T12:00:00.000Z",
    modelId,
  };
  const tenantRequests = wireRequests(KV_TENANT);
  tenantDeno = denoScores(model, "ort", tenantRequests, { [KV_TENANT]: tenantDoc });
  tenantTau = midThreshold(tenantDeno.map((d) => d.score));
  tenantDoc.tau = tenantTau;

  originSeen = [];
  origin = createServer((req, res) => {
    const hash = createHash("sha256");
    let bytes = 0;
    req.on("data", (c) => (hash.update(c), bytes += c.length));
    req.on("end", () => {
      originSeen.push({
        method: req.method,
        url: req.url,
        headers: req.headers,
        bytes,
        sha256: hash.digest("hex"),
      });
      res.writeHead(200, { "content-type": "text/plain", "x-origin": "yes" });
      res.end("from origin");
    });
  });
  await new Promise((r) => origin.listen(0, "127.0.0.1", r));

  const files = { "taugate.onnx": model };
  const [ort, ts] = await Promise.all([
    bundleWorker({ entry: join(ROOT, "src/worker/workerd.ts"), files }),
    bundleWorker({ entry: join(ROOT, "src/worker/workerd_ts.ts"), files }),
  ]);
  assert.ok(ts.modules.every((m) => !m.path.endsWith(".wasm")), "the free-plan build carries no wasm");
  const worker = (name, modules, vars, routes) => ({
    name,
    modules,
    modulesRoot: ROOT,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: { TAUGATE_LOG_SAMPLE: "0", TAUGATE_LOG_FLAGGED_SAMPLE: "0", TAUGATE_EXPOSE: "on", ...vars },
    kvNamespaces: { TENANT_KV: "tenant-kv" },
    routes,
  });
  mf = await startMiniflare({
    modules: undefined,
    workers: [
      worker("block", ort.modules, { TAUGATE_MODE: "block", TAUGATE_TAU: String(tau) }, [
        "block.test/*",
        "*.block.test/*",
      ]),
      worker("tag", ort.modules, { TAUGATE_MODE: "tag", TAUGATE_TAU: String(tau) }, ["tag.test/*"]),
      worker("free", ts.modules, { TAUGATE_MODE: "block", TAUGATE_TAU: String(tau) }, ["free.test/*"]),
    ],
  });
  // The forwarding worker runs in a workerd of its own. In the shared one, its 10 MB upload after the other
  // tests' hundred-odd requests sometimes never finished (workerd at 100 % CPU; 6 of 25 runs with 51 fixture
  // requests, 1 of 10 with 48 plus 3 duplicates, 0 of 8 run alone, 0 of 12 in its own workerd). The cause is not
  // found, and whether a deployed worker can meet it is not known; this test is about forwarding.
  mfForward = await startMiniflare({
    modules: undefined,
    workers: [
      worker("forward", ort.modules, {
        TAUGATE_MODE: "tag",
        TAUGATE_TAU: String(tau),
        ORIGIN: `http://127.0.0.1:${origin.address().port}`,
      }, ["forward.test/*"]),
    ],
  });
  await (await mf.getKVNamespace("TENANT_KV", "block")).put(`head/${KV_TENANT}`, JSON.stringify(tenantDoc));
});

after(async () => {
  await mf?.dispose();
  await mfForward?.dispose();
  origin?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const send = (r, host) => {
  const url = host ? r.url.replace("//block.test", `//${host}`) : r.url;
  return mf.dispatchFetch(url, { method: r.method, headers: r.headers, body: r.body });
};

test("workerd (ort): blocks and allows exactly as Deno does, with the same scores within 1e-6", async (t) => {
  assert.ok(requests.length >= 40, `${requests.length} requests`);
  let blocked = 0, maxDiff = 0;
  for (const [i, r] of requests.entries()) {
    const res = await send(r);
    const text = await res.text();
    const score = Number(res.headers.get("x-taugate-score"));
    assert.ok(Math.abs(score - deno[i].score) <= 1e-6, `${r.name}: workerd ${score}, Deno ${deno[i].score}`);
    maxDiff = Math.max(maxDiff, Math.abs(score - deno[i].score));
    const flagged = deno[i].score >= tau;
    assert.equal(res.status, flagged ? 403 : 200, `${r.name}: ${text}`);
    assert.equal(res.headers.get("x-taugate-decision"), flagged ? "block" : "allow", r.name);
    assert.equal(res.headers.get("x-taugate-model"), modelId);
    assert.equal(res.headers.get("x-taugate-tenant"), "block.test");
    assert.equal(res.headers.get("x-taugate-head"), "global");
    if (flagged) blocked++;
    // A HEAD request's 403 carries no body.
    if (flagged && r.method !== "HEAD") {
      const body = JSON.parse(text);
      assert.equal(body.error, "blocked");
      assert.equal(body.score, score);
      assert.equal(body.tau, tau);
      assert.ok(body.request_id);
    }
  }
  assert.ok(blocked > 5 && blocked < requests.length - 5, `${blocked} of ${requests.length} blocked`);
  t.diagnostic(`${requests.length} requests, ${blocked} blocked, max |workerd - Deno| = ${maxDiff}`);
});

test("workerd (ort): tag mode lets everything through and the app sees the decision headers", async () => {
  for (const [i, r] of requests.entries()) {
    if (r.method === "HEAD") continue;
    const res = await send(r, "tag.test");
    assert.equal(res.status, 200, r.name);
    const echo = await res.json();
    const want = deno[i].score >= tau ? "tag" : "allow";
    assert.equal(res.headers.get("x-taugate-decision"), want, r.name);
    assert.equal(echo.headers["x-taugate-decision"], want, r.name);
    assert.equal(echo.headers["x-taugate-score"], res.headers.get("x-taugate-score"), r.name);
    assert.ok(Math.abs(Number(echo.headers["x-taugate-score"]) - deno[i].score) <= 1e-6, r.name);
    assert.equal(echo.method, r.method);
    if (r.body !== undefined) {
      assert.equal(echo.body_sha256, createHash("sha256").update(r.body).digest("hex"), r.name);
    }
  }
});

test("workerd (ts engine, the free-plan build): the same decisions, scores within 1e-5 of Deno's", async () => {
  for (const [i, r] of requests.entries()) {
    const res = await send(r, "free.test");
    await res.arrayBuffer();
    const score = Number(res.headers.get("x-taugate-score"));
    assert.ok(Math.abs(score - deno[i].score) <= 1e-5, `${r.name}: ${score} vs ${deno[i].score}`);
    assert.ok(Math.abs(score - denoTs[i].score) <= 1e-6, `${r.name}: ${score} vs Deno ts ${denoTs[i].score}`);
    assert.equal(res.status, deno[i].score >= tau ? 403 : 200, r.name);
  }
});

test("workerd: a tenant head put in Workers KV scores that tenant's requests, with its own τ", async () => {
  const kv = await mf.getKVNamespace("TENANT_KV", "block");
  assert.deepEqual((await kv.list()).keys.map((k) => k.name), [`head/${KV_TENANT}`]);
  let blocked = 0;
  for (const [i, r] of requests.entries()) {
    const res = await send(r, KV_TENANT);
    await res.arrayBuffer();
    const score = Number(res.headers.get("x-taugate-score"));
    assert.equal(res.headers.get("x-taugate-head"), "tenant", r.name);
    assert.equal(res.headers.get("x-taugate-tenant"), KV_TENANT);
    assert.equal(tenantDeno[i].head, "tenant");
    assert.ok(Math.abs(score - tenantDeno[i].score) <= 1e-6, `${r.name}: ${score} vs ${tenantDeno[i].score}`);
    // The negated head mirrors the global score; for a request with views (past the caps, or with a
    // suspicious value among others) both are the highest over its views too, so the tenant's is at least the
    // mirror of the global one.
    if (deno[i].viewed) assert.ok(score >= 1 - deno[i].score - 1e-6, r.name);
    else assert.ok(Math.abs(score - (1 - deno[i].score)) <= 1e-6, r.name);
    const flagged = tenantDeno[i].score >= tenantTau;
    assert.equal(res.status, flagged ? 403 : 200, r.name);
    blocked += flagged ? 1 : 0;
  }
  assert.ok(blocked > 5 && blocked < requests.length - 5);
  // Some fixtures have views (past the caps, or a suspicious value among others), and most do not.
  const viewed = deno.filter((d) => d.viewed).length;
  assert.ok(viewed >= 2 && viewed < requests.length / 2, `${viewed} of ${requests.length} with views`);
});

test("workerd: ORIGIN forwarding streams a 10 MB body byte-exact and tags the forwarded request", async () => {
  const body = new Uint8Array(10 * 1024 * 1024);
  for (let i = 0; i < body.length; i++) body[i] = (i * 131 + (i >> 9)) & 255;
  const want = createHash("sha256").update(body).digest("hex");
  originSeen.length = 0;
  const res = await mfForward.dispatchFetch("http://forward.test/upload?x=1", {
    method: "POST",
    body,
    headers: { "content-type": "application/octet-stream", "x-taugate-decision": "allow" },
  });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "from origin");
  assert.equal(res.headers.get("x-origin"), "yes");
  const decision = res.headers.get("x-taugate-decision");
  assert.ok(decision === "allow" || decision === "tag", decision);
  assert.equal(originSeen.length, 1);
  const seen = originSeen[0];
  assert.equal(seen.url, "/upload?x=1");
  assert.equal(seen.bytes, body.length);
  assert.equal(seen.sha256, want);
  assert.equal(
    seen.headers["x-taugate-decision"],
    decision,
    "the origin sees taugate's decision, not the client's",
  );
  assert.equal(seen.headers["x-taugate-score"], res.headers.get("x-taugate-score"));
  assert.equal(seen.headers["x-taugate-model"], modelId);
  assert.equal(seen.headers["x-forwarded-host"] !== undefined, true);
});
