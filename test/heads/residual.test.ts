// The residual of a tenant head: its scoring term is the sparse dot product it claims to be, a fit learns
// from the request's own features (a benign-only upload makes exactly those requests pass), a one-class
// upload keeps the trust in the global head, the stored head stays within its budget and round-trips.
import nodeAssert from "node:assert/strict";
import fc from "fast-check";
import { featuresOfRecord } from "../../src/features/mod.ts";
import { type AdaptConfig, adaptHead, type HeadExample } from "../../src/heads/adapt.ts";
import {
  CORRECTION_BOUNDED,
  correctionShape,
  fitResidual,
  gatedResidualLogit,
  MAX_CORRECTION_ENDPOINTS,
  ofShape,
  RESIDUAL_DEFAULT,
  residualApplies,
  residualGate,
  residualLogit,
  supportBitmap,
  topWeights,
  withinBounds,
  withinShape,
} from "../../src/heads/residual.ts";
import { contrastRecords, CONTRASTS_PER_RECORD, MAX_CONTRASTS } from "../../src/heads/contrast.ts";
import { type HeadFeatures, logitWithHead, viewOf } from "../../src/heads/score.ts";
import { NOVELTY_DIM } from "../../src/heads/site_profile.ts";
import { FEATURE_SPEC, MAX_DIM } from "../../src/features/spec.ts";
import { DEFAULT_VALUE_CONFIG } from "../../src/heads/value_profile.ts";
import type { HeadParams } from "../../src/model/types.ts";
import type { RequestRecord } from "../../src/record/record.ts";
import { headFromJson, headToJson, parseStoredHead } from "../../src/store/head_doc.ts";

const assert = (ok: unknown, msg = "assertion failed") => nodeAssert.ok(ok, msg);

/**
 * A stored head's round trip: written as JSON and read back, `head` is unchanged; each of `refused` (fields
 * beside `w` and `b`) makes the document fail its check with a TypeError. Returns the head as read back.
 */
function assertStoredHead(head: HeadParams, refused: Record<string, unknown>[]): HeadParams {
  const base = { version: 1, createdAt: "2026-12-05T00:00:00.000Z" };
  const back = headFromJson(
    parseStoredHead(JSON.parse(JSON.stringify({ ...base, head: headToJson(head) }))).head,
  );
  nodeAssert.deepStrictEqual(back, head);
  for (const bad of refused) {
    nodeAssert.throws(
      () => parseStoredHead({ ...base, head: { w: [1], b: 0, ...bad } }),
      TypeError,
      JSON.stringify(bad).slice(0, 80),
    );
  }
  return back;
}

Deno.test("fitResidual refuses a feature index outside the hashed space instead of mis-mapping it", () => {
  const fit = (indices: number[]) =>
    fitResidual(
      new Float64Array([1, -1]),
      null,
      null,
      [
        { indices: Int32Array.from(indices), values: new Float32Array(indices.length).fill(1), dense: [0] },
        { indices: Int32Array.from([3]), values: Float32Array.from([1]), dense: [1] },
      ],
      Uint8Array.from([1, 0]),
      Float64Array.from([0.5, 0.5]),
      true,
      RESIDUAL_DEFAULT,
    );
  nodeAssert.ok(fit([2, 5]).ri.length > 0);
  nodeAssert.throws(() => fit([-1, 5]), RangeError);
  nodeAssert.throws(() => fit([2, MAX_DIM]), RangeError);
});

Deno.test("topWeights keeps what a stable sort by magnitude keeps, ties and zeros included", () => {
  // The reference: the plain stable sort by |weight| (ties in column order), the first `max`, sorted by key.
  const reference = (r: Float64Array, keys: number[], max: number) =>
    [...keys.keys()].filter((p) => r[p] !== 0).sort((p, q) => Math.abs(r[q]) - Math.abs(r[p])).slice(0, max)
      .map((p) => keys[p]).sort((a, b) => a - b);
  fc.assert(
    fc.property(
      // Few distinct magnitudes of both signs, so ties straddle the cut; zeros are never kept.
      fc.array(fc.integer({ min: -4, max: 4 }), { maxLength: 60 }),
      fc.integer({ min: 0, max: 70 }),
      fc.integer({ min: 0, max: 1000 }),
      (ws, max, seed) => {
        const r = Float64Array.from(ws, (w) => w / 4);
        // Distinct keys in an order unrelated to the columns'.
        const keys = ws.map((_, p) => (p * 37 + seed) % 9973);
        if (new Set(keys).size !== keys.length) return;
        nodeAssert.deepEqual([...topWeights(r, keys, max)], reference(r, keys, max));
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("residualLogit: the merge of two sorted lists equals the dense dot product", () => {
  const D = 64;
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: D - 1 }), { maxLength: 40 }),
      fc.uniqueArray(fc.integer({ min: 0, max: D - 1 }), { maxLength: 40 }),
      fc.array(fc.float({ min: -4, max: 4, noNaN: true }), { minLength: 3, maxLength: 3 }),
      (reqIdx, headIdx, dense) => {
        const idx = Int32Array.from([...reqIdx].sort((a, b) => a - b));
        const values = Float32Array.from(idx, (j) => ((j * 7) % 5) - 2);
        const ri = Int32Array.from([...headIdx].sort((a, b) => a - b));
        const rv = Float32Array.from(ri, (j) => ((j * 3) % 7) / 4 - 0.7);
        const rd = Float32Array.from([0.5, -1, 2]);
        const full = new Float64Array(D);
        ri.forEach((j, k) => full[j] = rv[k]);
        let want = 0;
        idx.forEach((j, k) => want += full[j] * values[k]);
        for (let j = 0; j < 3; j++) want += rd[j] * Math.fround(dense[j]);
        const got = residualLogit(ri, rv, rd, { indices: idx, values, dense: Float32Array.from(dense) });
        return Math.abs(got - want) <= 1e-5 * (1 + Math.abs(want));
      },
    ),
  );
});

Deno.test("residualLogit: only the first nnz entries of a buffer count", () => {
  const ri = Int32Array.from([2, 5]), rv = Float32Array.from([1, 10]);
  const f = {
    indices: Int32Array.from([2, 5, 0]),
    values: Float32Array.from([1, 1, 0]),
    dense: new Float32Array(0),
  };
  assert(residualLogit(ri, rv, undefined, f) === 11);
  assert(residualLogit(ri, rv, undefined, { ...f, nnz: 1 }) === 1);
});

// A head over a 2-wide embedding whose global part scores every shop request high (the false positives).
const init: HeadParams = { w: new Float32Array([3, 0]), b: 1 };
const CONFIG: AdaptConfig = {
  method: "gd",
  steps: 20,
  lr: 0.5,
  prox: 0.05,
  residual: { ...RESIDUAL_DEFAULT },
};
const UA =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";

function rec(url: string, method = "GET"): RequestRecord {
  return { method, url, headers: { "user-agent": UA }, body: "" };
}

function example(r: RequestRecord, label: 0 | 1, z = [1, 0]): HeadExample {
  const f = featuresOfRecord(r);
  return { z: Float32Array.from(z), label, structure: f.structure, features: f };
}

function logit(head: HeadParams, r: RequestRecord, z = [1, 0]): number {
  const f = featuresOfRecord(r);
  return logitWithHead(head, Float32Array.from(z), f.structure, undefined, f);
}

// Known attacks (as the model's canaries are), the residual's anchors: other sites, the same browsers.
const ANCHORS = [
  "/search?q=1%27%20UNION%20SELECT%20password%20FROM%20users--",
  "/item?id=%3Cscript%3Ealert(1)%3C/script%3E",
  "/download?file=../../../../etc/passwd",
  "/ping?host=127.0.0.1;cat%20/etc/shadow",
  "/login?user=admin%27--&pass=x",
  "/page?name={{7*7}}",
].map((u) => {
  const f = featuresOfRecord(rec(u));
  return { z: Float32Array.from([1, 0]), features: f };
});

// Requests of a web shop the global head wrongly flags: legacy Latin-1 forms.
const FPS = [
  "/tienda/autenticar.jsp?modo=entrar&login=garc%EDa&pwd=mu%F1oz&remember=off",
  "/tienda/autenticar.jsp?modo=entrar&login=ib%E1%F1ez&pwd=se%F1al&remember=on",
  "/tienda/autenticar.jsp?modo=entrar&login=nu%F1ez&pwd=ca%F1%F3n&remember=off",
  "/tienda/autenticar.jsp?modo=entrar&login=pe%F1a&pwd=a%F1o2020&remember=on",
].map((u) => rec(u));

/**
 * The false-positive correction of the tests below: FPS uploaded as benign under τ 0.9 (`lt`, its logit), with
 * the canaries as anchors and the upload's attack copies as contrasts.
 */
function fpCorrection() {
  const tau = 0.9, lt = Math.log(tau / (1 - tau));
  const contrasts = contrastRecords(FPS).map((r) => ({
    z: Float32Array.from([1, 0]),
    features: featuresOfRecord(r),
  }));
  return { tau, lt, upload: FPS.map((r) => example(r, 0)), options: { anchors: ANCHORS, tau, contrasts } };
}

Deno.test("adaptHead with a residual: a benign-only upload makes exactly those requests (and near twins) pass", () => {
  const { head } = adaptHead(init, FPS.map((r) => example(r, 0)), CONFIG, { anchors: ANCHORS });
  const before = FPS.map((r) => logit(init, r)), after = FPS.map((r) => logit(head, r));
  for (let i = 0; i < FPS.length; i++) assert(after[i] < before[i] - 3, `${after[i]} vs ${before[i]}`);
  // A near twin (another customer's name) falls too.
  const twin = rec("/tienda/autenticar.jsp?modo=entrar&login=casta%F1o&pwd=espa%F1a&remember=off");
  assert(logit(head, twin) < logit(init, twin) - 1.5, "near twin");
  // An unrelated request from the same browser keeps the global head's logit up to a small part: the anchors
  // (attacks from the same browsers) keep the residual off what every request of that client carries.
  const other = rec("/wp-json/wp/v2/posts?per_page=10&orderby=date");
  const moved = logit(head, other) - logit(init, other);
  const fpDrop = before.reduce((t, b, i) => t + b - after[i], 0) / FPS.length;
  assert(Math.abs(moved) < fpDrop / 2, `unrelated request moved by ${moved}, the FPs by ${-fpDrop}`);
  // One class only: the trust in the global head (α, β, folded into w and b) is unchanged.
  assert(head.b === init.b && head.w[0] === init.w[0], "α and β kept");
  assert(head.ri !== undefined && head.ri.length > 0 && head.ri.length <= RESIDUAL_DEFAULT.maxWeights);
});

Deno.test("adaptHead with a residual: an attack in the FP's own form still scores above the FPs after the upload", () => {
  const { head } = adaptHead(init, FPS.map((r) => example(r, 0)), CONFIG, { anchors: ANCHORS });
  const attack = rec("/tienda/autenticar.jsp?modo=entrar&login=x%27+OR+%271%27%3D%271&pwd=x&remember=off");
  const fpMax = Math.max(...FPS.map((r) => logit(head, r)));
  // The global part is the same for all (z is fixed here): the residual alone must not pull the attack's
  // payload words down with the form's.
  assert(logit(head, attack) > fpMax, `${logit(head, attack)} vs ${fpMax}`);
});

Deno.test("adaptHead with a residual: labels of both classes learn the site's attacks and benign requests", () => {
  const benign = Array.from({ length: 10 }, (_, i) => rec(`/shop/item?id=${100 + i}&color=red`));
  const attacks = Array.from(
    { length: 10 },
    (_, i) => rec(`/shop/item?id=${100 + i}%27%20AND%20SLEEP(${i + 1})--`),
  );
  // The global head cannot tell them apart (same z): only the residual can.
  const ex = [...benign.map((r) => example(r, 0, [0, 0])), ...attacks.map((r) => example(r, 1, [0, 0]))];
  const { head } = adaptHead(init, ex, CONFIG);
  const b = logit(head, rec("/shop/item?id=777&color=blue"), [0, 0]);
  const a = logit(head, rec("/shop/item?id=777%27%20AND%20SLEEP(9)--"), [0, 0]);
  assert(a > b + 1, `${a} vs ${b}`);
});

Deno.test("adaptHead with a residual: deterministic, and the stored head round-trips within 64 KB", () => {
  const many = Array.from(
    { length: 100 },
    (_, i) =>
      example(rec(`/p${i}/x${i * 7}?q=${"abcdefghij".repeat(3)}${i}&k${i}=v${i * 13}`), (i % 2) as 0 | 1),
  );
  const a = adaptHead(init, many, CONFIG).head, b = adaptHead(init, many, CONFIG).head;
  nodeAssert.deepStrictEqual(a, b);
  const doc = { version: 1, head: headToJson(a), createdAt: new Date(0).toISOString() };
  const text = JSON.stringify(doc);
  assert(text.length <= 64 * 1024, `${text.length} bytes`);
  const back = headFromJson(parseStoredHead(JSON.parse(text)).head);
  assert(back.ri instanceof Int32Array);
  nodeAssert.deepStrictEqual(back, a);
});

Deno.test("stored head: a malformed residual is refused", () => {
  const base = { version: 1, createdAt: "2026-12-03T00:00:00.000Z" };
  const bad = [
    { w: [1], b: 0, ri: [3, 2], rv: [1, 1] }, // not increasing
    { w: [1], b: 0, ri: [1], rv: [1, 2] }, // lengths differ
    { w: [1], b: 0, ri: [1] }, // no weights
    { w: [1], b: 0, ri: [1e9], rv: [1] }, // outside the feature space
    { w: [1], b: 0, ri: [1.5], rv: [1] }, // not an index
    { w: [1], b: 0, rd: new Array(1000).fill(0) }, // longer than the dense block
  ];
  for (const head of bad) nodeAssert.throws(() => parseStoredHead({ ...base, head }), TypeError);
  parseStoredHead({ ...base, head: { w: [1], b: 0, ri: [1, 2], rv: [0.5, -1], rd: [0.1] } });
});

Deno.test("adaptHead with a residual: without anchors a benign-only upload leans on what every request carries", () => {
  // The reason anchors exist: the same upload without them lowers an unrelated request of the same client
  // further than with them.
  const other = rec("/wp-json/wp/v2/posts?per_page=10&orderby=date");
  const free = adaptHead(init, FPS.map((r) => example(r, 0)), CONFIG).head;
  const anchored = adaptHead(init, FPS.map((r) => example(r, 0)), CONFIG, { anchors: ANCHORS }).head;
  assert(
    logit(free, other) < logit(anchored, other) - 0.5,
    `${logit(free, other)} vs ${logit(anchored, other)}`,
  );
});

Deno.test("adaptHead with a residual: a correction (τ known) brings the false positives just under τ", () => {
  const tau = 0.9, target = Math.log(tau / (1 - tau)) - RESIDUAL_DEFAULT.margin;
  const { head, trust } = adaptHead(init, FPS.map((r) => example(r, 0)), CONFIG, { anchors: ANCHORS, tau });
  assert(trust !== undefined && trust.alpha === 1 && trust.beta === 0);
  const logistic = adaptHead(init, FPS.map((r) => example(r, 0)), CONFIG, { anchors: ANCHORS }).head;
  for (const r of FPS) {
    const l = logit(head, r);
    // Under τ, and not pushed as far as the logistic fit pushes them.
    assert(l < Math.log(tau / (1 - tau)), `${l} is not under τ`);
    assert(
      l > target - 3 && l > logit(logistic, r) + 1,
      `${l}: target ${target}, logistic ${logit(logistic, r)}`,
    );
  }
  const other = rec("/wp-json/wp/v2/posts?per_page=10&orderby=date");
  assert(
    Math.abs(logit(head, other) - logit(init, other)) < Math.abs(logit(logistic, other) - logit(init, other)),
    "the correction moves an unrelated request less than the logistic fit",
  );
});

Deno.test("contrastRecords: each request gets attack copies in its own values, deterministic and bounded", () => {
  const out = contrastRecords(FPS);
  nodeAssert.equal(out.length, FPS.length * CONTRASTS_PER_RECORD);
  nodeAssert.deepEqual(out, contrastRecords(FPS));
  for (const [k, c] of out.entries()) {
    const src = FPS[Math.floor(k / CONTRASTS_PER_RECORD)];
    nodeAssert.equal(c.label, 1);
    nodeAssert.equal(c.url.split("?")[0], src.url.split("?")[0], "same endpoint");
    nodeAssert.notEqual(c.url, src.url);
    nodeAssert.equal(c.url.split("&").length, src.url.split("&").length, "same parameters");
  }
  const json = contrastRecords([{
    method: "POST",
    url: "/api/cart",
    headers: { "content-type": "application/json" },
    body: '{"sku":"A-12","qty":2,"gift":true}',
  }], 1);
  nodeAssert.equal(JSON.parse(json[0].body!).sku, "1' OR '1'='1' -- ");
  nodeAssert.equal(contrastRecords([rec("/")])[0].url, "/?id=1'%20OR%20'1'%3D'1'%20--%20");
  nodeAssert.equal(contrastRecords(Array.from({ length: 500 }, () => FPS[0])).length, MAX_CONTRASTS);
});

Deno.test("adaptHead with a residual: a correction only lowers, and brings no site profile of its false positives alone", () => {
  // With a site profile configured, as the shipped model has one: a profile of the uploaded false positives
  // alone would call every other request of the site novel and raise it.
  const config: AdaptConfig = {
    ...CONFIG,
    profile: {
      minCount: 2,
      minCountLarge: 2,
      largeFrom: 0,
      confidence: 10,
      a0: new Array(NOVELTY_DIM).fill(0.5),
    },
    values: { ...DEFAULT_VALUE_CONFIG, a0: [1, 1, 1, 1, 1] },
  };
  const tau = 0.9;
  const upload = FPS.slice(0, 3).map((r) => example(r, 0));
  const { head } = adaptHead(init, upload, config, { anchors: ANCHORS, tau });
  assert(head.profile === undefined && head.a === undefined, "no profile from three false positives");
  assert(head.rv !== undefined && head.rv.length > 0 && head.rv.every((w) => w <= 0), "residual weights ≤ 0");
  const site = [
    ...FPS,
    "/tienda/carrito.jsp?accion=ver",
    "/tienda/buscar.jsp?q=zapatos%20de%20mujer&pagina=2",
    "/wp-json/wp/v2/posts?per_page=10&orderby=date",
    "/static/app.3f2a1c.js",
    "/tienda/autenticar.jsp?modo=entrar&login=%27%20OR%201%3D1--&pwd=x&remember=off",
  ].map((u) => typeof u === "string" ? rec(u) : u);
  for (const r of site) {
    assert(logit(head, r) <= logit(init, r) + 1e-6, `${r.url}: ${logit(head, r)} above ${logit(init, r)}`);
  }
  // With the site's own traffic in the upload, the profile is built (from that traffic) as for any upload.
  const traffic = site.slice(4, 8).flatMap((r) => [r, r, r]).map((r) => {
    const f = featuresOfRecord(r);
    return { structure: f.structure, params: f.params };
  });
  const withTraffic = adaptHead(init, upload, config, { anchors: ANCHORS, tau, unlabeled: traffic }).head;
  assert(withTraffic.profile !== undefined, "a profile of the site's traffic");
});

Deno.test("residualApplies: a sorted endpoint list is searched as a set, and no endpoint list applies everywhere", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 40 }),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      (eps, probe) => {
        const re = Int32Array.from(eps).sort(), set = new Set(eps);
        for (const ep of [...eps, probe]) nodeAssert.equal(residualApplies(re, [ep, 0, 0]), set.has(ep));
      },
    ),
  );
  nodeAssert.equal(residualApplies(undefined, undefined), true);
  // A head limited to endpoints does not apply to a request whose endpoint is unknown.
  nodeAssert.equal(residualApplies(Int32Array.of(5), undefined), false);
  nodeAssert.equal(residualApplies(Int32Array.of(5), []), false);
});

Deno.test("adaptHead with a residual: a correction applies to its own endpoints only", () => {
  const { lt, upload, options } = fpCorrection();
  // The endpoint limit alone (the support gate has a test of its own, below).
  const { head } = adaptHead(init, upload, {
    ...CONFIG,
    residual: { ...RESIDUAL_DEFAULT, gate: null },
  }, options);
  // The upload's one endpoint (method and path shape), as its features name it.
  nodeAssert.deepEqual(head.re, Int32Array.of(featuresOfRecord(FPS[0]).params[0]));
  for (const r of FPS) assert(logit(head, r) < lt, `${r.url} still flagged`);
  // A near twin on the corrected endpoint falls with them.
  const twin = rec("/tienda/autenticar.jsp?modo=entrar&login=casta%F1o&pwd=espa%F1a&remember=off");
  assert(logit(head, twin) < logit(init, twin) - 1, "near twin");
  // Requests of other endpoints, from the same client, attacks among them, keep the global head's logit exactly.
  const elsewhere = [
    "/tienda/buscar.jsp?q=zapatos&login=garc%EDa",
    "/tienda/carrito.jsp?accion=ver",
    "/tienda/buscar.jsp?q=%27%20OR%201%3D1--&login=mu%F1oz",
  ].map((u) => rec(u));
  for (const r of elsewhere) nodeAssert.equal(logit(head, r), logit(init, r), r.url);
  // POST to the same path is another endpoint too.
  const post = rec(FPS[0].url, "POST");
  nodeAssert.equal(logit(head, post), logit(init, post));
  // Without the limit, the same correction reaches them: what the limit is for.
  const everywhere = adaptHead(init, upload, {
    ...CONFIG,
    residual: { ...RESIDUAL_DEFAULT, endpoints: false, gate: null },
  }, options).head;
  assert(everywhere.re === undefined, "no endpoint list");
  assert(
    elsewhere.some((r) => logit(everywhere, r) < logit(init, r) - 0.01),
    "an unlimited correction lowers another endpoint",
  );
  // An upload with labels of both classes is no correction: not limited.
  const both = adaptHead(init, [...upload, example(rec("/x?id=1%27--"), 1)], CONFIG, options).head;
  assert(both.re === undefined, "both classes: not limited");
});

Deno.test("stored head: a correction's endpoints round-trip exactly and a malformed list is refused", () => {
  const head: HeadParams = {
    w: Float32Array.of(1),
    b: 0,
    ri: Int32Array.of(3),
    rv: Float32Array.of(-1),
    re: Int32Array.of(-2147483648, -5, 123456789, 2147483647),
  };
  const back = assertStoredHead(head, [[3, 2], [1.5], [2 ** 31], [], [1, 1]].map((re) => ({ re })));
  assert(back.re instanceof Int32Array);
});

Deno.test("adaptHead with a residual: a correction of more endpoints than a head may list corrects everywhere", () => {
  const many = Array.from(
    { length: MAX_CORRECTION_ENDPOINTS + 1 },
    (_, i) => example(rec(`/tienda/p${i}x/autenticar.jsp?login=garc%EDa`), 0),
  );
  const { head } = adaptHead(init, many, CONFIG, { anchors: ANCHORS, tau: 0.9 });
  assert(head.re === undefined, "not limited");
  const few = adaptHead(init, many.slice(0, 3), CONFIG, { anchors: ANCHORS, tau: 0.9 }).head;
  nodeAssert.equal(few.re?.length, 3);
});

Deno.test("adaptHead with a residual: a correction of one request logged many times passes it (a stable step)", () => {
  // A false positive logged over and over (an app's polling call), beside a few others: its copies weigh
  // much of the upload, and the squared hinge's curvature with them.
  const poll = rec("/webapi/entry.cgi/SYNO.Docker.Container.Log", "POST");
  const upload = [...Array.from({ length: 30 }, () => poll), ...FPS].map((r) => example(r, 0, [1.5, 0]));
  const contrasts = contrastRecords([...Array.from({ length: 30 }, () => poll), ...FPS]).map((r) => ({
    z: Float32Array.from([1.6, 0]),
    features: featuresOfRecord(r),
  }));
  const tau = 0.9, lt = Math.log(tau / (1 - tau));
  const { head } = adaptHead(init, upload, CONFIG, { anchors: ANCHORS, tau, contrasts });
  for (const r of [poll, ...FPS]) {
    const l = logit(head, r, [1.5, 0]);
    assert(l < lt, `${r.method} ${r.url}: ${l} not under τ (${lt})`);
    assert(l > lt - RESIDUAL_DEFAULT.margin - 3, `${r.url}: ${l} pushed far below τ`);
  }
});

Deno.test("adaptHead with a residual: a correction still at τ after its steps goes on escalating until it passes", () => {
  // One admin page polled 20 times beside three others, and attack copies close to them: in 10 steps (no
  // escalation within them) the contrasts hold the upload above τ; the overtime rounds bring it under.
  const poll = rec("/admin/accueil.php/index.php?ope=1");
  const others = ["/2/css/bootstrap.css", "/2/favicon.ico", "/"].map((u) => rec(u));
  const upload = [...Array.from({ length: 20 }, () => poll), ...others];
  const contrasts = contrastRecords(upload).map((r) => ({
    z: Float32Array.from([1.6, 0]),
    features: featuresOfRecord(r),
  }));
  const tau = 0.9, lt = Math.log(tau / (1 - tau));
  const fit = (escalate: number) => {
    const config: AdaptConfig = { ...CONFIG, residual: { ...RESIDUAL_DEFAULT, steps: 10, escalate } };
    const { head } = adaptHead(init, upload.map((r) => example(r, 0, [1.5, 0])), config, { tau, contrasts });
    return [poll, ...others].map((r) => logit(head, r, [1.5, 0]) - lt);
  };
  const fixed = fit(0);
  assert(fixed.some((d) => d >= 0), `without escalation some request stays at τ: ${fixed}`);
  for (const d of fit(10)) {
    assert(d < -RESIDUAL_DEFAULT.margin / 4, `still ${d} from τ`);
    assert(d > -RESIDUAL_DEFAULT.margin - 3, `pushed ${d} below τ`);
  }
});

Deno.test("residualGate: the share of a request's feature mass in the support, ramped from `from` to `to`", () => {
  const f = (indices: number[], values: number[]) => ({
    indices: Int32Array.from(indices),
    values: Float32Array.from(values),
    dense: new Float32Array(0),
  });
  const bits = supportBitmap([f([1, 9, 100], [1, 1, 1]), f([200], [0])], 256);
  nodeAssert.equal(bits.length, 32);
  // Bits of the features with a value; a zero value is no feature.
  nodeAssert.deepEqual([1, 9, 100, 200, 2].map((j) => (bits[j >>> 3] >> (j & 7)) & 1), [1, 1, 1, 0, 0]);
  const rg = [0.5, 0.9];
  nodeAssert.equal(residualGate(bits, rg, f([1, 9], [1, -2])), 1); // all inside (|x| counts)
  nodeAssert.equal(residualGate(bits, rg, f([1, 2], [1, 1])), 0); // half: at `from`
  nodeAssert.ok(Math.abs(residualGate(bits, rg, f([1, 2], [3, 1])) - 0.625) < 1e-9); // 0.75 → (0.75−0.5)/0.4
  nodeAssert.equal(residualGate(bits, rg, f([1, 2, 100], [1, 1, 1])), (2 / 3 - 0.5) / 0.4);
  nodeAssert.equal(residualGate(bits, rg, f([], [])), 0); // nothing to be made of
  nodeAssert.equal(residualGate(bits, rg, f([5000], [1])), 0); // beyond the bitmap: outside
  nodeAssert.equal(residualGate(undefined, undefined, f([2], [1])), 1); // no gate: in full
  // Only the first nnz entries count, as for residualLogit.
  nodeAssert.equal(residualGate(bits, rg, { ...f([1, 2], [1, 1]), nnz: 1 }), 1);
});

Deno.test("adaptHead with a residual: a correction's support gate keeps attacks on its endpoint at the global score", () => {
  const { lt, upload, options } = fpCorrection();
  const gate = RESIDUAL_DEFAULT.gate!;
  const gated = adaptHead(init, upload, { ...CONFIG, residual: { ...RESIDUAL_DEFAULT, gate } }, options).head;
  const open =
    adaptHead(init, upload, { ...CONFIG, residual: { ...RESIDUAL_DEFAULT, gate: null } }, options).head;
  nodeAssert.deepEqual(gated.rg, Float32Array.of(gate.from, gate.to));
  assert(gated.rs !== undefined && open.rs === undefined && open.rg === undefined);
  // The fit is the same: the gate acts at scoring. The uploaded requests (support 1) pass under both.
  nodeAssert.deepEqual(gated.rv, open.rv);
  for (const r of FPS) {
    nodeAssert.equal(logit(gated, r), logit(open, r), r.url);
    assert(logit(gated, r) < lt, `${r.url} still flagged`);
  }
  // A near duplicate made of the uploaded requests' values passes with them.
  const twin = rec("/tienda/autenticar.jsp?modo=entrar&login=garc%EDa&pwd=se%F1al&remember=on");
  assert(logit(gated, twin) < lt, "recombined twin still flagged");
  // Attacks on the corrected endpoint carry words the upload never had: without the gate the correction
  // lowers them with the form's words; with it they keep the global head's score.
  const attacks = [
    "/tienda/autenticar.jsp?modo=entrar&login=x%27+OR+%271%27%3D%271&pwd=x&remember=off",
    "/tienda/autenticar.jsp?modo=entrar&login=%3Cscript%3Ealert(1)%3C/script%3E&pwd=mu%F1oz&remember=off",
  ].map((u) => rec(u));
  for (const r of attacks) {
    nodeAssert.equal(logit(gated, r), logit(init, r), r.url);
    assert(logit(open, r) < logit(init, r) - 1, `${r.url}: the ungated correction lowers it`);
  }
  // A benign-and-attack upload is no correction: no gate.
  const both = adaptHead(init, [...upload, example(rec("/x?id=1%27--"), 1)], CONFIG, options).head;
  assert(both.rs === undefined && both.rg === undefined, "both classes: no gate");
});

Deno.test("adaptHead with a residual: a correction's bounds keep tampered copies of its requests at the global score", () => {
  const { lt, upload, options } = fpCorrection();
  const bounded = adaptHead(init, upload, { ...CONFIG, residual: { ...RESIDUAL_DEFAULT } }, options).head;
  // (Without the shape too: it would keep a repeated parameter out by itself.)
  const unbounded = adaptHead(init, upload, {
    ...CONFIG,
    residual: { ...RESIDUAL_DEFAULT, bounds: false, shape: false },
  }, options).head;
  nodeAssert.equal(bounded.rb?.length, CORRECTION_BOUNDED.length);
  assert(unbounded.rb === undefined, "bounds: false keeps none");
  // The bounds are the upload's largest evidence counts: every uploaded request is within them and passes.
  for (const r of FPS) {
    assert(withinBounds(bounded.rb, featuresOfRecord(r).dense), r.url);
    nodeAssert.equal(logit(bounded, r), logit(unbounded, r), r.url);
    assert(logit(bounded, r) < lt, `${r.url} still flagged`);
  }
  // Copies of uploaded requests made of their words, tampered as the implanted anomalies tamper (a parameter
  // repeated): without bounds the correction lowers them with the upload; with them they keep the global
  // head's score. (A copy with new characters, an appended control character or a stray `%`, is already out
  // of the gate's support.)
  const tampered = [FPS[0].url + "&remember=off", FPS[1].url + "&modo=entrar"].map((u) => rec(u));
  for (const r of tampered) {
    assert(!withinBounds(bounded.rb, featuresOfRecord(r).dense), `${r.url} within the bounds`);
    nodeAssert.equal(logit(bounded, r), logit(init, r), r.url);
    assert(logit(unbounded, r) < logit(init, r) - 1, `${r.url}: the unbounded correction lowers it`);
  }
  // A two-class upload is no correction: no bounds.
  const both = adaptHead(init, [...upload, example(rec("/x?id=1%27--"), 1)], CONFIG, options).head;
  assert(both.rb === undefined, "both classes: no bounds");
});

Deno.test("correctionShape / withinShape: the names an endpoint was sent, their values' classes and repeats", () => {
  const params = (url: string) => featuresOfRecord(rec(url)).params;
  const rp = correctionShape(
    ["/item?post_id=1991&sort=new", "/item?post_id=42", "/other?q=red+shoes&q=blue"].map((u) => ({
      params: params(u),
    })),
  )!;
  nodeAssert.equal(rp.length % 3, 0);
  nodeAssert.equal(rp.length / 3, 3, "post_id and sort on /item, q on /other");
  const ok = (url: string) => withinShape(rp, params(url));
  // Near duplicates: other digits, a name left out beside another, the names in another order, a repeat the
  // upload had.
  for (const u of ["/item?post_id=7", "/item?sort=new", "/item?sort=old&post_id=1", "/other?q=green&q=x"]) {
    assert(ok(u), u);
  }
  // Tampered copies: a minus sign, letters, non-ASCII or quotes where the upload had digits; a name the
  // upload never sent to this endpoint; a name repeated that the upload sent once.
  for (
    const u of [
      "/item?post_id=-1",
      "/item?post_id=55abc",
      "/item?post_id=1991%E2%80%AE",
      "/item?post_id=1%27",
      "/item?post_id=1&admin=true",
      "/item?post_id=1&post_id=2",
    ]
  ) assert(!ok(u), u);
  // No named value at all where every uploaded request of the endpoint sent one (a parameter left out of the
  // only one); where one of them was bare, a bare request is of the shape.
  assert(!ok("/item"), "/item bare");
  const withBare = correctionShape(["/plain", "/plain?x=1"].map((u) => ({ params: params(u) })))!;
  assert(withinShape(withBare, params("/plain")) && withinShape(withBare, params("/plain?x=2")));
  // An upload of bare requests only: its endpoints keep an entry each, and a name sent there is out of shape;
  // the stored head keeps it.
  const bareOnly = correctionShape(["/page-a", "/page-b"].map((u) => ({ params: params(u) })))!;
  nodeAssert.equal(bareOnly.length, 6);
  assert(withinShape(bareOnly, params("/page-a")) && !withinShape(bareOnly, params("/page-a?admin=1")));
  const rs = new Uint8Array(FEATURE_SPEC.dim / 8);
  const stored = { w: Float32Array.of(1), b: 0, rs, rg: Float32Array.of(0.99, 1), rp: bareOnly };
  nodeAssert.deepStrictEqual(
    headFromJson(parseStoredHead({ version: 1, createdAt: "x", head: headToJson(stored) }).head).rp,
    bareOnly,
  );
  // Another endpoint is not the shape's to judge (`residualApplies` keeps the correction off it), and no shape
  // judges nothing.
  assert(ok("/elsewhere?post_id=-1"));
  assert(withinShape(undefined, params("/item?post_id=-1")));
  // The request's own listed values only: a buffer's count bounds them.
  const p = params("/item?post_id=7&admin=1");
  assert(!withinShape(rp, p) && withinShape(rp, p, 1), "the first value only");
  // An upload of more (endpoint, name) pairs than a head keeps has no shape.
  const many = Array.from({ length: 300 }, (_, i) => ({ params: params(`/e${i}?a=1`) }));
  nodeAssert.equal(correctionShape(many), undefined);
});

Deno.test("adaptHead with a residual: a correction's shape keeps a tampered copy made of the upload's words at the global score", () => {
  const { lt, upload, options } = fpCorrection();
  const shaped = adaptHead(init, upload, { ...CONFIG, residual: { ...RESIDUAL_DEFAULT } }, options).head;
  const unshaped =
    adaptHead(init, upload, { ...CONFIG, residual: { ...RESIDUAL_DEFAULT, shape: false } }, options).head;
  assert(shaped.rp !== undefined && shaped.rp.length > 0, "a correction keeps its shape");
  assert(unshaped.rp === undefined, "shape: false keeps none");
  // Every uploaded request is of its shape and passes, as without it.
  for (const r of FPS) {
    nodeAssert.equal(logit(shaped, r), logit(unshaped, r), r.url);
    assert(logit(shaped, r) < lt, `${r.url} still flagged`);
  }
  // The login of one request and the password of another swapped: every word, n-gram and count is the
  // upload's (the support gate and the bounds let it through), but a login was never digits.
  const tampered = rec("/tienda/autenticar.jsp?modo=entrar&login=a%F1o2020&pwd=garc%EDa&remember=off");
  const f = featuresOfRecord(tampered);
  assert(withinBounds(shaped.rb, f.dense), "within the bounds");
  nodeAssert.equal(residualGate(shaped.rs, shaped.rg, f), 1, "all of it in the support");
  assert(!withinShape(shaped.rp, f.params), "not of the shape");
  nodeAssert.equal(logit(shaped, tampered), logit(init, tampered));
  assert(logit(unshaped, tampered) < logit(init, tampered) - 1, "without the shape the correction lowers it");
  // A two-class upload is no correction: no shape.
  const both = adaptHead(init, [...upload, example(rec("/x?id=1%27--"), 1)], CONFIG, options).head;
  assert(both.rp === undefined, "both classes: no shape");
});

Deno.test("ofShape: an overflow view is judged by a correction's shape with the request it was cut from", () => {
  const { upload, options } = fpCorrection();
  const shaped = adaptHead(init, upload, CONFIG, options).head;
  const z = Float32Array.from([1, 0]);
  const at = (f: HeadFeatures) => logitWithHead(shaped, z, undefined, undefined, f);
  // One uploaded value alone, as `overflowViews` cuts a value view out of its request: of the shape, and
  // corrected.
  const view = featuresOfRecord(rec("/tienda/autenticar.jsp?login=garc%EDa"));
  assert(withinShape(shaped.rp, view.params), "the view alone is of the shape");
  const corrected = at(view);
  assert(corrected < logitWithHead(init, z, undefined, undefined, view) - 1, "the view alone is corrected");
  // Cut from an uploaded request: the same correction. Cut from a tampered copy (a name the upload never
  // sent beside it): none, as its request gets none.
  const honest = featuresOfRecord(FPS[0]);
  const tampered = featuresOfRecord(rec(FPS[0].url + "&admin=1"));
  assert(ofShape(shaped.rp, honest) && !ofShape(shaped.rp, tampered));
  nodeAssert.equal(at(viewOf(view, honest)), corrected);
  assert(!ofShape(shaped.rp, viewOf(view, tampered)));
  nodeAssert.equal(at(viewOf(view, tampered)), logitWithHead(init, z, undefined, undefined, view));
  // A view out of the shape is out whatever its request, and without a shape every view is judged alone.
  const offView = featuresOfRecord(rec("/tienda/autenticar.jsp?login=1%27--"));
  assert(!ofShape(shaped.rp, viewOf(offView, honest)));
  assert(ofShape(undefined, viewOf(view, tampered)));
});

Deno.test("stored head: a correction's shape round-trips exactly and a malformed one is refused", () => {
  const rs = new Uint8Array(FEATURE_SPEC.dim / 8);
  rs[9] = 4;
  const rp = Int32Array.of(-5, 3, 0x20, -5, 9, 1, 12, -2_000_000_000, 0x101);
  const head: HeadParams = { w: Float32Array.of(1), b: 0, rs, rg: Float32Array.of(0.99, 1), rp };
  const good = headToJson(head);
  assertStoredHead(head, [
    { rp: Array.from(rp) }, // without rs and rg
    { rs: good.rs, rg: [0.99, 1], rp: Array.from(rp).slice(1) }, // not triples
    { rs: good.rs, rg: [0.99, 1], rp: [12, 1, 0, -5, 3, 0] }, // endpoints out of order
    { rs: good.rs, rg: [0.99, 1], rp: [-5, 9, 0, -5, 3, 0] }, // names out of order
    { rs: good.rs, rg: [0.99, 1], rp: [-5, 3, 0, -5, 3, 1] }, // a repeated entry
    { rs: good.rs, rg: [0.99, 1], rp: [-5, 3.5, 0] }, // not integers
  ]);
});

Deno.test("adaptHead with a residual: a correction cut to the weights a head keeps still passes every uploaded request", () => {
  const { lt, upload, options } = fpCorrection();
  // A head that may keep 6 residual weights: the fit uses many more, and the cut alone leaves requests at τ;
  // fitted again on the kept weights' features, every uploaded request passes.
  for (const maxWeights of [6, 12]) {
    const residual = { ...RESIDUAL_DEFAULT, maxWeights };
    const { head } = adaptHead(init, upload, { ...CONFIG, residual }, options);
    assert(head.ri !== undefined && head.ri.length <= maxWeights, `${head.ri?.length} weights kept`);
    for (const r of FPS) assert(logit(head, r) < lt, `maxWeights ${maxWeights}: ${r.url} still flagged`);
  }
});

Deno.test("stored head: a correction's bounds round-trip exactly and malformed ones are refused", () => {
  const rs = new Uint8Array(FEATURE_SPEC.dim / 8);
  rs[7] = 2;
  const rb = Float32Array.from(CORRECTION_BOUNDED, (_, k) => k / 3);
  const head: HeadParams = { w: Float32Array.of(1), b: 0, rs, rg: Float32Array.of(0.99, 1), rb };
  const good = headToJson(head);
  assertStoredHead(head, [
    { rb: Array.from(rb) }, // without rs and rg
    { rs: good.rs, rg: [0.99, 1], rb: Array.from(rb).slice(1) }, // too short
    { rs: good.rs, rg: [0.99, 1], rb: [...Array.from(rb), 1] }, // too long
  ]);
});

Deno.test("stored head: a correction's support round-trips exactly and a malformed one is refused", () => {
  const rs = new Uint8Array(FEATURE_SPEC.dim / 8);
  rs[3] = 0x81, rs[rs.length - 1] = 1;
  const head: HeadParams = {
    w: Float32Array.of(1),
    b: 0,
    ri: Int32Array.of(3),
    rv: Float32Array.of(-1),
    rs,
    rg: Float32Array.of(0.85, 0.99),
  };
  const json = headToJson(head);
  nodeAssert.equal(typeof json.rs, "string");
  const good = json.rs as string;
  const back = assertStoredHead(head, [
    { rs: good }, // without rg
    { rg: [0.85, 0.99] }, // without rs
    { rs: good, rg: [0.9, 0.5] }, // reversed
    { rs: good, rg: [0.5] },
    { rs: good.slice(0, 100), rg: [0.85, 0.99] }, // too short
    { rs: "@@@@", rg: [0.85, 0.99] }, // not base64
  ]);
  assert(back.rs instanceof Uint8Array);
});

Deno.test("gatedResidualLogit: one pass gives the gate times the residual, for any request and support", () => {
  fc.assert(fc.property(
    fc.uniqueArray(fc.integer({ min: 0, max: 511 }), { maxLength: 40 }),
    fc.array(fc.float({ min: -4, max: 4, noNaN: true }), { minLength: 40, maxLength: 40 }),
    fc.uniqueArray(fc.integer({ min: 0, max: 511 }), { maxLength: 30 }),
    fc.uniqueArray(fc.integer({ min: 0, max: 511 }), { maxLength: 60 }),
    fc.float({ min: 0, max: Math.fround(0.9), noNaN: true }),
    (idx, vals, wIdx, support, from) => {
      const indices = Int32Array.from([...idx].sort((a, b) => a - b));
      const f = {
        indices,
        values: Float32Array.from(indices, (_, k) => vals[k]),
        dense: Float32Array.of(1, 0.5),
      };
      const ri = Int32Array.from([...wIdx].sort((a, b) => a - b)),
        rv = Float32Array.from(ri, (j) => -1 - (j % 7) / 4);
      const rd = Float32Array.of(-0.25);
      const rs = new Uint8Array(64);
      for (const j of support) rs[j >>> 3] |= 1 << (j & 7);
      const rg = [from, from + 0.1];
      const want = residualGate(rs, rg, f) * residualLogit(ri, rv, rd, f);
      const got = gatedResidualLogit(ri, rv, rd, rs, rg, f);
      return Math.abs(got - want) <= 1e-9 * (1 + Math.abs(want));
    },
  ));
});
