// Dry-run scoring: the score the worker would give, its decision in the worker's mode, and why (gradient ×
// input, checked against finite differences of the real forward pass); and the OpenAPI document.
import assert from "node:assert/strict";
import { explainLogit } from "../../src/api/explain.ts";
import { openApiDocument } from "../../src/api/openapi.ts";
import { scoreResultSchema } from "../../src/api/schemas.ts";
import { DENSE_NAMES, FEATURE_SPEC, featuresOfRecord, needsViews } from "../../src/features/mod.ts";
import { logitWithHead } from "../../src/heads/score.ts";
import { correctionShape, residualGate, supportBitmap } from "../../src/heads/residual.ts";
import { createTsEngine, loadEngine } from "../../src/model/mod.ts";
import { denoOrtWasm } from "../../src/model/ort_deno.ts";
import { readModelOnnx } from "../../src/model/onnx/read.ts";
import { MemoryTenantStore } from "../../src/store/mod.ts";
import { headToJson } from "../../src/store/head_doc.ts";
import { createWorkerApp } from "../../src/worker/app.ts";
import { workerConfigFromEnv } from "../../src/worker/config.ts";
import { apiConfigFromEnv } from "../../src/api/config.ts";
import { ADMIN, labelled, testWorld } from "./_app.ts";
import { apiModelBytes, attackRecord, benignRecord } from "./_model.ts";

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
const asJson = (records: unknown[]) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(records),
});

Deno.test("dry-run: scores and decisions match what the worker does with the same requests", async () => {
  const w = testWorld();
  const token = await w.mint("shop-a.test");
  const records = [benignRecord(0), benignRecord(2), attackRecord(1), attackRecord(4), benignRecord(7)];
  for (const phase of ["global", "tenant"]) {
    const res = await w.api("/tenants/shop-a.test/score", { ...asJson(records), token });
    assert.equal(res.status, 200);
    const out = scoreResultSchema.parse(await res.json());
    assert.equal(out.head.source, phase);
    assert.equal(out.mode, "block");
    assert.equal(out.explained, true, "the TypeScript engine exposes its weights");
    for (const [i, r] of out.results.entries()) {
      const live = await w.send("shop-a.test", records[i]);
      // The live header carries 4 significant digits.
      assert.equal(
        live.score,
        Number(r.score.toPrecision(4)),
        `${phase} #${i}: dry-run ${r.score}, live ${live.score}`,
      );
      assert.equal(r.flagged, r.score >= out.tau);
      assert.equal(r.decision, r.flagged ? "block" : "allow");
      assert.equal(live.status, r.flagged ? 403 : 200);
      assert.equal(r.index, i + 1);
      assert.ok(r.why!.length > 0 && r.why!.length <= 8);
    }
    const up = await w.upload("shop-a.test", labelled(range(20).map(benignRecord), 0), token);
    assert.equal(up.status, 201);
  }
  const global =
    await (await w.api("/tenants/shop-a.test/score?head=global&explain=0", { ...asJson(records), token }))
      .json();
  assert.equal(global.head.source, "global");
  assert.equal(global.explained, false);
  assert.equal(global.results[0].why, undefined);
});

Deno.test("dry-run: a payload behind padding past the read limits scores as in the worker (overflow views)", async () => {
  const w = testWorld();
  const token = await w.mint("shop-a.test");
  const pad = (r: ReturnType<typeof attackRecord>) =>
    r.body
      ? { ...r, body: "pad=" + "p".repeat(9000) + "&" + r.body }
      : { ...r, url: r.url.replace("?", "?pad=" + "p".repeat(1100) + "&") };
  const attacks = range(6).map(attackRecord).filter((r) => r.method === "GET" || r.body?.startsWith("item="));
  const records = [...attacks, ...attacks.map(pad), pad(benignRecord(0)), pad(benignRecord(1))];
  const res = await w.api("/tenants/shop-a.test/score?explain=0", { ...asJson(records), token });
  assert.equal(res.status, 200);
  const out = scoreResultSchema.parse(await res.json());
  for (const [i, r] of out.results.entries()) {
    const live = await w.send("shop-a.test", records[i]);
    assert.equal(live.score, Number(r.score.toPrecision(4)), `#${i}: dry-run ${r.score}, live ${live.score}`);
    assert.equal(r.inspected, undefined);
  }
  // Padded, an attack keeps the score it has alone (its overflow view is the attack itself, or near it).
  for (let i = 0; i < attacks.length; i++) {
    const alone = out.results[i], padded = out.results[attacks.length + i];
    assert.equal(padded.flagged, alone.flagged, `attack #${i}: ${alone.score} alone, ${padded.score} padded`);
  }
  // A request that needs more overflow views than allowed (16: here 12,000 form fields, 128 a view) is said
  // to be partly inspected.
  const huge = {
    method: "POST",
    url: "/cart",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "a=1&".repeat(12_000),
  };
  const partial = scoreResultSchema.parse(
    await (await w.api("/tenants/shop-a.test/score?explain=0", { ...asJson([huge]), token })).json(),
  );
  assert.equal(partial.results[0].inspected, "partial");
  // The dry run follows the worker's setting: `TAUGATE_OVERFLOW=off` scores what the caps read, `flag` flags
  // a request not inspected whole; the worker agrees either way.
  for (const setting of ["off", "flag"]) {
    const v = testWorld({ env: { TAUGATE_OVERFLOW: setting } });
    const t = await v.mint("shop-a.test");
    const got = scoreResultSchema.parse(
      await (await v.api("/tenants/shop-a.test/score?explain=0", { ...asJson([...records, huge]), token: t }))
        .json(),
    );
    for (const [i, r] of got.results.entries()) {
      const live = await v.send("shop-a.test", [...records, huge][i]);
      assert.equal(live.score, Number(r.score.toPrecision(4)), `${setting} #${i}`);
      assert.equal(live.status, r.flagged ? 403 : 200, `${setting} #${i}`);
    }
    const last = got.results[records.length];
    if (setting === "off") {
      assert.equal(last.inspected, undefined);
      // Without views, a padded attack is scored on its padding alone: lower than with them.
      for (let i = 0; i < attacks.length; i++) {
        assert.ok(got.results[attacks.length + i].score <= out.results[attacks.length + i].score + 1e-9);
      }
      assert.ok(
        got.results.slice(attacks.length, 2 * attacks.length).some((r, i) =>
          r.score < out.results[attacks.length + i].score
        ),
      );
    } else {
      assert.equal(last.inspected, "partial");
      assert.equal(last.flagged, true);
      assert.equal(last.decision, "block");
    }
  }
});

Deno.test("dry-run: the decision follows the worker's mode; labels are echoed; limits and formats as uploads", async () => {
  const w = testWorld({ env: { TAUGATE_MODE: "log" } });
  const res = await w.api("/tenants/shop-a.test/score?top=3", asJson(labelled([attackRecord(2)], 1)));
  const out = scoreResultSchema.parse(await res.json());
  assert.equal(out.mode, "log");
  assert.equal(out.results[0].flagged, true);
  assert.equal(out.results[0].decision, "allow", "log mode only logs");
  assert.equal(out.results[0].label, 1);
  assert.equal(out.results[0].why!.length, 3);
  const tag = testWorld({ env: { TAUGATE_MODE: "tag" } });
  const t = await (await tag.api("/tenants/shop-a.test/score", asJson([attackRecord(2)]))).json();
  assert.equal(t.results[0].decision, "tag");
  assert.equal((await w.api("/tenants/shop-a.test/score?top=99", asJson([attackRecord(2)]))).status, 400);
  assert.equal((await w.api("/tenants/shop-a.test/score?head=mine", asJson([attackRecord(2)]))).status, 400);
  const bad = await w.api("/tenants/shop-a.test/score", asJson([{ method: "GET" }]));
  assert.equal(bad.status, 422);
  assert.equal((await bad.json()).line, 1);
  assert.equal((await w.api("/tenants/shop-a.test/score", { method: "POST", body: "x" })).status, 422);
  const html = { method: "POST", body: "x", headers: { "content-type": "text/html" } };
  assert.equal((await w.api("/tenants/shop-a.test/score", html)).status, 415);
});

Deno.test("dry-run: why names the features that pushed the score, attack n-grams first for an injection", async () => {
  const w = testWorld();
  const sqli = {
    method: "GET",
    url: "/search?q=" + encodeURIComponent("1' UNION SELECT password FROM users--"),
  };
  const out = await (await w.api("/tenants/shop-a.test/score?top=10", asJson([sqli]))).json();
  const why = out.results[0].why as { feature: string; kind: string; contribution: number; value: number }[];
  assert.equal(why.length, 10);
  for (let i = 1; i < why.length; i++) {
    assert.ok(Math.abs(why[i - 1].contribution) >= Math.abs(why[i].contribution), "largest first");
  }
  // The test model's attack unit reads only the keyword block: its top reasons are dense keyword features.
  assert.equal(why[0].kind, "dense");
  assert.match(why[0].feature, /^dense:(sql_keywords|quote_ratio|paren_semicolon_ratio)$/);
  assert.ok(why[0].contribution > 0);
  assert.ok(why.some((c) => c.kind === "sparse" && /[a-z]+:/.test(c.feature)), JSON.stringify(why));
});

Deno.test("explain: gradient × input matches finite differences of the forward pass, profile term included", () => {
  const bytes = apiModelBytes();
  const engine = createTsEngine(bytes);
  const { weights } = readModelOnnx(bytes);
  const Z = engine.meta.embedDim;
  // A head with a site profile, so the deviation term's gradient is checked too.
  const head = {
    w: Float32Array.from(engine.head.w),
    b: engine.head.b,
    mu: Float32Array.from({ length: Z }, (_, j) => 0.1 * Math.sin(j)),
    prec: Float32Array.from({ length: Z }, (_, j) => 1 + (j % 3)),
    a: Float32Array.from({ length: Z }, (_, j) => 0.5 * Math.cos(j)),
  };
  const rec = {
    method: "POST",
    url: "/cart?x=1",
    body: "item=" + encodeURIComponent("<img src=x onerror=alert(1)>"),
  };
  const trace = new Map<number, string[]>();
  const f = featuresOfRecord(rec, FEATURE_SPEC, trace);
  const ex = explainLogit(weights, head, f, trace, 10_000);
  const logitOf = (g: typeof f) => logitWithHead(head, engine.embedSync(g));
  // The name explainLogit gives a bucket (at most three of its names).
  const nameOf = (b: number) => {
    const names = trace.get(b) ?? [];
    return names.slice(0, 3).join(" | ") + (names.length > 3 ? ` | +${names.length - 3}` : "");
  };
  assert.ok(Math.abs(ex.logit - logitOf(f)) < 1e-4, `${ex.logit} vs ${logitOf(f)}`);
  let checked = 0;
  for (const c of ex.top.slice(0, 12)) {
    const g = { ...f, values: f.values.slice(), dense: f.dense.slice() };
    let k: number;
    if (c.kind === "dense") k = DENSE_NAMES.indexOf(c.feature.slice("dense:".length));
    else k = [...f.indices].findIndex((b, i) => f.values[i] === c.value && nameOf(b) === c.feature);
    assert.ok(k >= 0, c.feature);
    if (c.kind === "sparse") {
      const same = [...f.indices].filter((b, i) => f.values[i] === c.value && nameOf(b) === c.feature);
      assert.equal(same.length, 1, `${c.feature} names one bucket`);
    }
    const arr = c.kind === "dense" ? g.dense : g.values;
    const h = 1e-3 * Math.max(1, Math.abs(arr[k]));
    const x = arr[k];
    arr[k] = x + h;
    const up = logitOf(g);
    arr[k] = x - h;
    const down = logitOf(g);
    const numeric = x * (up - down) / (2 * h);
    assert.ok(
      Math.abs(numeric - c.contribution) < 2e-2 * Math.max(1, Math.abs(c.contribution)),
      `${c.feature}: analytic ${c.contribution}, numeric ${numeric}`,
    );
    checked++;
  }
  assert.ok(checked >= 10);
});

Deno.test("dry-run with the ORT engine explains through the weights the worker supplies", async () => {
  const bytes = apiModelBytes();
  const engine = await loadEngine("ort", bytes, await denoOrtWasm());
  const env = { TAUGATE_ADMIN_TOKEN: ADMIN, TAUGATE_EXPOSE: "on" };
  const app = createWorkerApp({
    config: workerConfigFromEnv(env),
    engine,
    logSink: () => {},
    api: {
      config: apiConfigFromEnv(env)!,
      store: new MemoryTenantStore(),
      weights: () => readModelOnnx(bytes).weights,
    },
  });
  const res = await app.request("http://x/_taugate/tenants/shop-a.test/score", {
    ...asJson([attackRecord(3)]),
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN}` },
  });
  const out = await res.json();
  assert.equal(res.status, 200, JSON.stringify(out));
  assert.equal(out.explained, true);
  const ts = createTsEngine(bytes);
  const want = ts.scoreSync(featuresOfRecord(attackRecord(3)));
  assert.ok(Math.abs(out.results[0].score - want) < 1e-5, "the ORT engine's score");
});

Deno.test("openapi.json: every route is documented, with the answers' schemas", async () => {
  const w = testWorld();
  const res = await w.api("/openapi.json", { token: null });
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.deepEqual(doc, JSON.parse(JSON.stringify(openApiDocument())));
  assert.equal(doc.openapi, "3.1.0");
  const routes = new Set<string>();
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    for (const m of Object.keys(ops)) routes.add(`${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`);
  }
  const api = (await import("../../src/api/api.ts")).tenantApi({
    adminToken: ADMIN,
    store: new MemoryTenantStore(),
    engine: w.engine,
  });
  const served = new Set(
    api.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path.replace("/_taugate", "")}`),
  );
  assert.deepEqual([...served].sort(), [...routes].sort());
  for (const name of ["UploadResult", "HeadResult", "ScoreResult", "TokenResult", "Error"]) {
    assert.equal(doc.components.schemas[name].type, "object", name);
  }
  assert.ok(doc.components.schemas.UploadResult.properties.guard.properties.margin);
});

Deno.test("one decision path: the worker and the dry run agree on every head (valid, residual, stale, malformed) and mode", async () => {
  // Both call `decide` (src/middleware/decide.ts); this feeds them the same records and stored heads.
  const records = [benignRecord(0), benignRecord(2), benignRecord(3), attackRecord(1), attackRecord(4)];
  const w0 = testWorld();
  const Z = w0.engine.meta.embedDim, modelId = w0.engine.meta.modelId;
  const heads: Record<string, Record<string, unknown>> = {
    valid: { w: Array.from(w0.engine.head.w, (x) => x * 0.5), b: -0.5 },
    residual: {
      w: Array.from(w0.engine.head.w),
      b: w0.engine.head.b,
      ri: [1, 5, 900],
      rv: [0.5, -2, 3],
      rd: [0.1],
    },
    stale: { w: new Array(Z + 1).fill(0.1), b: 0 },
    // A document the store cannot read back as a head (see below): the global head scores instead.
    malformed: { w: Array.from(w0.engine.head.w), b: w0.engine.head.b },
  };
  for (const mode of ["block", "tag", "log"]) {
    for (const [name, head] of Object.entries(heads)) {
      const store = new MemoryTenantStore();
      if (name === "malformed") {
        // The stored document fails its schema when read (as a corrupt KV value would).
        const heads = store.heads;
        Object.defineProperty(store, "heads", {
          value: {
            ...heads,
            get: () => Promise.reject(new TypeError("invalid stored head: w: expected array")),
          },
        });
      }
      const w = testWorld({ env: { TAUGATE_MODE: mode }, store });
      const token = await w.mint("shop-a.test");
      await w.store.heads.put("shop-a.test", {
        version: 7,
        head: head as { w: number[]; b: number },
        tau: 0.6,
        createdAt: "2026-12-03T00:00:00.000Z",
        modelId: name === "stale" ? "another-model" : modelId,
      });
      const out = scoreResultSchema.parse(
        await (await w.api("/tenants/shop-a.test/score?explain=0", { ...asJson(records), token })).json(),
      );
      const source = name === "stale" ? "stale" : name === "malformed" ? "store-error" : "tenant";
      assert.equal(out.head.source, source, `${mode} ${name}`);
      for (const [i, r] of out.results.entries()) {
        const live = await w.send("shop-a.test", records[i]);
        const what = `${mode} ${name} #${i}`;
        assert.equal(live.score, Number(r.score.toPrecision(4)), what);
        assert.equal(live.head, r.head ?? out.head.source, what);
        const status = r.decision === "block" ? 403 : 200;
        assert.equal(live.status, status, what);
      }
    }
  }
});

Deno.test("one decision path: a value view is judged by a head's shape with its request, in the worker and the dry run", async () => {
  // A stored head whose residual raises every request of its shape far over τ, and whose global part scores
  // everything low: what a request's views get shows whether its shape was judged with the request.
  // A cart post whose item has quotes, parentheses and a semicolon (a value that may be code: it is scored
  // alone too).
  const post = { ...benignRecord(2), body: "item=socks+(wool)%3B+size+%27L%27&qty=1&action=update" };
  const Z = testWorld().engine.meta.embedDim;
  const rp = correctionShape([{ params: featuresOfRecord(post).params }])!;
  const head = headToJson({
    w: new Float32Array(Z),
    b: -5,
    rd: new Float32Array(DENSE_NAMES.length).fill(50),
    // Every feature in its support: the gate is open wherever the shape is.
    rs: new Uint8Array(FEATURE_SPEC.dim / 8).fill(255),
    rg: Float32Array.of(0, 0.5),
    rp,
  }) as { w: number[]; b: number };
  const w = testWorld();
  const token = await w.mint("shop-a.test");
  await w.store.heads.put("shop-a.test", {
    version: 3,
    head,
    tau: 0.6,
    createdAt: "2026-12-05T00:00:00.000Z",
    modelId: w.engine.meta.modelId,
  });
  // The post itself, of the shape; the same post with a name it never had, whose value views (its item alone)
  // are of the shape.
  const tampered = { ...post, body: post.body + "&admin=1" };
  assert.ok(needsViews(featuresOfRecord(tampered)), "the tampered post is scored with its value views");
  const out = scoreResultSchema.parse(
    await (await w.api("/tenants/shop-a.test/score?explain=0", { ...asJson([post, tampered]), token }))
      .json(),
  );
  assert.equal(out.head.source, "tenant");
  const [own, views] = out.results;
  assert.equal(own.decision, "block", "the residual applies to a request of the shape");
  assert.equal(
    views.decision,
    "allow",
    `a view of a request out of the shape gets no residual: ${views.score}`,
  );
  assert.ok(views.score < 0.01);
  for (const [i, r] of out.results.entries()) {
    const live = await w.send("shop-a.test", [post, tampered][i]);
    assert.equal(live.score, Number(r.score.toPrecision(4)), `#${i}`);
    assert.equal(live.status, r.flagged ? 403 : 200, `#${i}`);
  }
});

Deno.test("explain: a correction limited to its endpoints explains another endpoint's request as the head scores it", () => {
  const bytes = apiModelBytes();
  const engine = createTsEngine(bytes);
  const { weights } = readModelOnnx(bytes);
  const corrected = featuresOfRecord({ method: "POST", url: "/cart?x=1", body: "item=shoes" });
  const other = { method: "GET", url: "/search?q=<img src=x onerror=alert(1)>" };
  const trace = new Map<number, string[]>();
  const f = featuresOfRecord(other, FEATURE_SPEC, trace);
  // A residual on every bucket the other request has, limited to the corrected request's endpoint.
  const ri = Int32Array.from(new Set(f.indices)).sort();
  const head = {
    w: Float32Array.from(engine.head.w),
    b: engine.head.b,
    ri,
    rv: new Float32Array(ri.length).fill(-2),
    re: Int32Array.of(corrected.params[0]),
  };
  const z = engine.embedSync(f);
  const scored = logitWithHead(head, z, f.structure, undefined, f);
  assert.equal(scored, logitWithHead(engine.head, z), "another endpoint: the global head's logit");
  const ex = explainLogit(weights, head, f, trace, 10_000);
  assert.ok(Math.abs(ex.logit - scored) < 1e-4, `${ex.logit} vs ${scored}`);
  // On the corrected endpoint the residual counts, in the score and in the explanation alike.
  const g = featuresOfRecord({ method: "POST", url: "/cart?x=2", body: "item=boots" });
  const onIt = logitWithHead(head, engine.embedSync(g), g.structure, undefined, g);
  assert.ok(onIt < logitWithHead(engine.head, engine.embedSync(g)), "the corrected endpoint is lowered");
  const ex2 = explainLogit(weights, head, g, new Map(), 10_000);
  assert.ok(Math.abs(ex2.logit - onIt) < 1e-4, `${ex2.logit} vs ${onIt}`);
});

Deno.test("explain: a correction's support gate scales its residual in the explanation as in the score", () => {
  const bytes = apiModelBytes();
  const engine = createTsEngine(bytes);
  const { weights } = readModelOnnx(bytes);
  const upload = featuresOfRecord({ method: "POST", url: "/cart?x=1", body: "item=shoes" });
  // The support: the uploaded request's features. A request of the same endpoint with other words is partly
  // made of them.
  const rs = supportBitmap([upload], FEATURE_SPEC.dim);
  const g = featuresOfRecord({ method: "POST", url: "/cart?x=1", body: "item=%27%20OR%201%3D1--" });
  const share = residualGate(rs, [0, 1], g);
  assert.ok(share > 0.3 && share < 1, `support ${share}`);
  const ri = Int32Array.from(new Set([...upload.indices, ...g.indices])).sort();
  const base = {
    w: Float32Array.from(engine.head.w),
    b: engine.head.b,
    ri,
    rv: new Float32Array(ri.length).fill(-0.5),
    re: Int32Array.of(upload.params[0]),
  };
  const gated = { ...base, rs, rg: Float32Array.of(share - 0.2, share + 0.2) }; // the gate half open
  const z = engine.embedSync(g);
  const global = logitWithHead(engine.head, z), open = logitWithHead(base, z, g.structure, undefined, g);
  const half = logitWithHead(gated, z, g.structure, undefined, g);
  assert.ok(
    Math.abs(half - (global + (open - global) / 2)) < 1e-3,
    `${half}: half way from ${global} to ${open}`,
  );
  const ex = explainLogit(weights, gated, g, new Map(), 10_000);
  assert.ok(Math.abs(ex.logit - half) < 1e-4, `${ex.logit} vs ${half}`);
  // The uploaded request itself (support 1) gets the residual in full, in both.
  const zu = engine.embedSync(upload);
  const full = logitWithHead(gated, zu, upload.structure, undefined, upload);
  assert.ok(Math.abs(full - logitWithHead(base, zu, upload.structure, undefined, upload)) < 1e-9);
  assert.ok(Math.abs(explainLogit(weights, gated, upload, new Map(), 10_000).logit - full) < 1e-4);
});
