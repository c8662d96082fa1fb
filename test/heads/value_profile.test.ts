// Site profile v3, the value profile: the extractor lists a request's named values, the profile learns per
// endpoint and parameter what they look like, each kind of tampering breaks it and ordinary values do not,
// a benign example never vouches for itself, the stored form is bounded and round-trips, and a tenant head
// scores with it exactly as it claims.
import nodeAssert from "node:assert/strict";
import { FEATURE_SPEC, featuresOfRecord, MAX_PARAMS, PARAM_WORDS } from "../../src/features/mod.ts";
import { PARAM_HUGE, PARAM_INTEGER, PARAM_REPEATED } from "../../src/features/extract.ts";
import { type AdaptConfig, adaptHead, type HeadExample } from "../../src/heads/adapt.ts";
import { RESIDUAL_DEFAULT } from "../../src/heads/residual.ts";
import { logitWithHead } from "../../src/heads/score.ts";
import {
  DEFAULT_VALUE_CONFIG,
  V_CHARS,
  V_ENUM,
  V_LENGTH,
  V_NUMBER,
  V_PRESENCE,
  VALUE_DIM,
  VALUE_MAX_ENTRIES,
  VALUE_NAMES,
  VALUE_PROFILE_MAX_CHARS,
  valueBreaks,
  ValueProfile,
  valueProfileFromBase64,
  valueProfileToBase64,
} from "../../src/heads/value_profile.ts";
import type { HeadParams } from "../../src/model/types.ts";
import { explainLogit } from "../../src/api/explain.ts";
import { createTsEngine } from "../../src/model/mod.ts";
import { readModelOnnx } from "../../src/model/onnx/read.ts";
import { apiModelBytes } from "../api/_model.ts";
import type { RequestRecord } from "../../src/record/record.ts";
import { headFromJson, headToJson, parseStoredHead } from "../../src/store/head_doc.ts";

const assert = (ok: unknown, msg = "assertion failed") => nodeAssert.ok(ok, msg);

const params = (r: RequestRecord) => featuresOfRecord(r).params;
const get = (url: string) => params({ method: "GET", url });

/** The listed values of a request as objects. */
function listed(p: Int32Array) {
  const out = [];
  for (let o = 1; o < p.length; o += PARAM_WORDS) {
    out.push({ key: p[o], len: p[o + 2] & 0xffff, flags: p[o + 2] & ~0x1ffffff, num: p[o + 3] });
  }
  return out;
}

Deno.test("extractor: named values of query, form and JSON are listed; cookies and bare keys are not", () => {
  const q = listed(get("/shop/item/12?id=5&q=red+shoes&flag"));
  nodeAssert.equal(q.length, 2);
  nodeAssert.equal(q[0].flags, PARAM_INTEGER);
  nodeAssert.equal(q[0].num, 5);
  nodeAssert.equal(q[1].len, 9, "decoded, + as space");
  const form = listed(params({
    method: "POST",
    url: "/login",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: "sid=abc; theme=dark" },
    body: "user=bob&remember=1",
  }));
  nodeAssert.equal(form.length, 2, "the cookie's values are not listed");
  const json = listed(params({
    method: "POST",
    url: "/api/cart",
    headers: { "content-type": "application/json" },
    body: '{"sku": "A-1", "qty": -3}',
  }));
  nodeAssert.equal(json.length, 2);
  nodeAssert.equal(json[1].num, -3);
  nodeAssert.equal(json[1].flags, PARAM_INTEGER);
});

Deno.test("extractor: the endpoint folds digit segments; repeated names, huge integers and the cap are marked", () => {
  nodeAssert.equal(get("/shop/item/12?id=1")[0], get("/shop/item/13?id=1")[0]);
  assert(get("/shop/item/12")[0] !== get("/shop/cart/12")[0]);
  assert(
    get("/shop/item/12")[0] !== params({ method: "POST", url: "/shop/item/12" })[0],
    "the method is part of it",
  );
  const rep = listed(get("/a?id=1&id=2"));
  assert(rep.every((v) => (v.flags & PARAM_REPEATED) !== 0), "both copies of a repeated name are marked");
  const huge = listed(get("/a?n=99999999999999"))[0];
  nodeAssert.equal(huge.flags, PARAM_INTEGER | PARAM_HUGE);
  nodeAssert.equal(huge.num, 0x7fffffff);
  nodeAssert.equal(listed(get("/a?n=1.5"))[0].flags, 0, "not an integer");
  const many = get("/a?" + Array.from({ length: 60 }, (_, i) => `p${i}=${i}`).join("&"));
  nodeAssert.equal(many.length, 1 + MAX_PARAMS * PARAM_WORDS);
});

// A shop's ordinary traffic: product pages with a quantity, a colour from a list, a free-text note and a
// session-like reference; a search page with a query.
function shopTraffic(n: number): Int32Array[] {
  const colours = ["red", "blue", "green", "black"];
  const words = ["gift", "please wrap", "leave at door", "thanks", "call before delivery"];
  const out: Int32Array[] = [];
  for (let i = 0; i < n; i++) {
    out.push(get(
      `/shop/item/${100 + i}?qty=${1 + ((i * 7) % 30)}&colour=${colours[i % 4]}&note=${
        encodeURIComponent(words[i % 5])
      }+${i}&ref=${(i * 7919).toString(16).padStart(8, "0")}`,
    ));
    out.push(get(`/search?q=${encodeURIComponent(words[(i * 3) % 5])}+${i}`));
  }
  return out;
}

function profileOf(reqs: Int32Array[]): ValueProfile {
  const p = new ValueProfile(DEFAULT_VALUE_CONFIG);
  for (const r of reqs) p.add(r);
  return p;
}

const breaks = (p: ValueProfile, r: Int32Array, self = false) =>
  Array.from(valueBreaks(p, r, r.length, self));
const only = (k: number, n = 1) => Array.from({ length: VALUE_DIM }, (_, j) => (j === k ? n : 0));
const NONE = only(-1);

Deno.test("value profile: ordinary requests break nothing; each kind of tampering breaks its kind", () => {
  const p = profileOf(shopTraffic(60)).compact();
  const ok = "/shop/item/7?qty=3&colour=blue&note=thanks&ref=0001a2b3";
  nodeAssert.deepEqual(breaks(p, get(ok)), NONE);
  nodeAssert.deepEqual(breaks(p, get("/search?q=gift+wrap+77")), NONE);
  // A negative integer: out of range, and a minus sign the parameter never had.
  nodeAssert.deepEqual(breaks(p, get(ok.replace("qty=3", "qty=-1"))), [0, 1, 1, 0, 0], "negative");
  nodeAssert.deepEqual(breaks(p, get(ok.replace("qty=3", "qty=99999999999"))), only(V_NUMBER), "huge");
  nodeAssert.deepEqual(breaks(p, get(ok.replace("qty=3", "qty=1000"))), only(V_NUMBER), "out of range");
  // A word where an integer always was: not an integer, and letters the parameter never had.
  nodeAssert.deepEqual(breaks(p, get(ok.replace("qty=3", "qty=abc"))), [0, 1, 1, 0, 0]);
  nodeAssert.deepEqual(
    breaks(p, get(ok.replace("colour=blue", "colour=admin"))),
    only(V_ENUM),
    "not in the list",
  );
  nodeAssert.deepEqual(breaks(p, get(ok.replace("note=thanks", `note=${"A".repeat(300)}`))), only(V_LENGTH));
  nodeAssert.deepEqual(
    breaks(p, get(ok.replace("ref=0001a2b3", "ref=0001%27a2b3"))),
    only(V_CHARS),
    "a quote",
  );
  nodeAssert.deepEqual(breaks(p, get(ok + "&is_admin=1")), only(V_PRESENCE), "a new parameter");
  nodeAssert.deepEqual(breaks(p, get(ok + "&qty=2")), only(V_PRESENCE), "a repeated parameter");
  nodeAssert.deepEqual(
    breaks(p, get(ok.replace("&colour=blue", ""))),
    only(V_PRESENCE),
    "a required one missing",
  );
  nodeAssert.deepEqual(breaks(p, get("/never/seen?qty=-1&x=1")), NONE, "an unknown endpoint is not judged");
});

Deno.test("value profile: a counted example does not vouch for itself (self)", () => {
  const reqs = shopTraffic(30);
  const odd = get("/shop/item/1?qty=2&colour=purple&note=gift&ref=00000001");
  const p = profileOf([...reqs, odd]);
  nodeAssert.deepEqual(breaks(p, odd), NONE, "counted in, it is part of the site");
  nodeAssert.deepEqual(breaks(p, odd, true), only(V_ENUM), "taken out again, its colour is new");
  const extra = get("/shop/item/1?qty=2&colour=red&note=gift&ref=00000001&coupon=x");
  const p2 = profileOf([...reqs, extra]);
  nodeAssert.deepEqual(breaks(p2, extra, true), only(V_PRESENCE));
  // Taking an example out of counts it is in matches a profile that never had it.
  for (const r of reqs.slice(0, 10)) {
    nodeAssert.deepEqual(breaks(profileOf(reqs), r, true), breaks(profileOf(reqs.filter((x) => x !== r)), r));
  }
});

Deno.test("value profile: the stored form round-trips, is capped and refuses malformed text", () => {
  const p = profileOf(shopTraffic(60)).compact();
  const back = valueProfileFromBase64(valueProfileToBase64(p));
  for (const r of shopTraffic(5).concat([get("/shop/item/7?qty=-1&colour=x&note=y&ref=z&debug=1")])) {
    nodeAssert.deepEqual(breaks(back, r), breaks(p, r));
  }
  nodeAssert.deepEqual(back.config, p.config);
  // 300 endpoints of one parameter each, one of 40: the caps hold and a kept endpoint keeps all of its own.
  const big = new ValueProfile(DEFAULT_VALUE_CONFIG);
  for (let e = 0; e < 300; e++) for (let i = 0; i < 6; i++) big.add(get(`/e${e}?v=${i}`));
  const wide = "/wide?" + Array.from({ length: 20 }, (_, k) => `k${k}=1`).join("&");
  for (let i = 0; i < 500; i++) big.add(get(wide));
  const c = big.compact();
  assert(c.size <= VALUE_MAX_ENTRIES && c.endpoints.size <= 128);
  nodeAssert.deepEqual(breaks(c, get(wide)), NONE, "the busiest endpoint is kept whole");
  const text = valueProfileToBase64(c);
  assert(text.length <= VALUE_PROFILE_MAX_CHARS);
  for (const bad of ["", "!!!", text.slice(0, 40), text + "AAAA"]) {
    nodeAssert.throws(() => valueProfileFromBase64(bad), TypeError);
  }
  const words = new Int32Array(6);
  words.set([10, 5, 20, 9800, 0, VALUE_MAX_ENTRIES + 1]);
  nodeAssert.throws(
    () => valueProfileFromBase64(btoa(String.fromCharCode(...new Uint8Array(words.buffer)))),
    /parameters/,
  );
});

// A residual head with a value profile, fitted on a benign-only upload and the site's unlabelled traffic.
const init: HeadParams = { w: new Float32Array([3, 0]), b: -6 };
const CONFIG: AdaptConfig = {
  method: "gd",
  steps: 20,
  lr: 0.5,
  prox: 0.05,
  profile: { minCount: 2, minCountLarge: 2, largeFrom: 0, confidence: 10, a0: new Array(8).fill(0.5) },
  residual: { ...RESIDUAL_DEFAULT },
  values: { ...DEFAULT_VALUE_CONFIG, a0: [1, 1, 1, 1, 1] },
};
const shopRecord = (i: number, qty = String(1 + (i % 5))): RequestRecord => ({
  method: "GET",
  url: `/shop/item/${100 + i}?qty=${qty}&colour=${["red", "blue"][i % 2]}`,
});

Deno.test("tenant head: fitted with a value profile, it scores tampering higher by exactly av·v", () => {
  const examples: HeadExample[] = Array.from({ length: 10 }, (_, i) => {
    const f = featuresOfRecord(shopRecord(i));
    return { z: Float32Array.from([1, 0]), label: 0 as const, structure: f.structure, features: f };
  });
  const unlabeled = Array.from({ length: 200 }, (_, i) => {
    const f = featuresOfRecord(shopRecord(i + 10));
    return { structure: f.structure, params: f.params };
  });
  const { head } = adaptHead(init, examples, CONFIG, { unlabeled });
  assert(head.av !== undefined && head.values !== undefined, "the head carries the value profile");
  assert(head.av!.every((a) => a >= 0), "value weights stay non-negative");
  const z = Float32Array.from([1, 0]);
  const score = (r: RequestRecord, withParams = true) => {
    const f = featuresOfRecord(r);
    return logitWithHead(head, z, f.structure, undefined, withParams ? f : { ...f, params: undefined });
  };
  const normal = shopRecord(3), tampered = shopRecord(3, "-5");
  nodeAssert.equal(score(normal), score(normal, false), "nothing breaks: no value term");
  const tp = featuresOfRecord(tampered).params;
  const broken = valueBreaks(head.values!, tp, tp.length, false);
  assert(broken[V_NUMBER] === 1, "a negative quantity is out of range");
  let want = score(tampered, false);
  broken.forEach((c, k) => want += head.av![k] * Math.fround(head.profile!.weight * Math.log1p(c)));
  assert(Math.abs(score(tampered) - want) < 1e-5, `${score(tampered)} vs ${want}`);
  assert(score(tampered) > score(normal), "tampering scores higher");
  // The stored document keeps it, within the head budget, and scores the same.
  const doc = parseStoredHead(JSON.parse(JSON.stringify({
    version: 1,
    head: headToJson(head),
    createdAt: new Date(0).toISOString(),
  })));
  const back = headFromJson(doc.head);
  const f = featuresOfRecord(tampered);
  nodeAssert.equal(logitWithHead(back, z, f.structure, undefined, f), score(tampered));
  nodeAssert.throws(
    () => parseStoredHead({ version: 1, head: { ...headToJson(head), values: undefined }, createdAt: "x" }),
    /av and values/,
  );
});

Deno.test("explain: a tenant head's value term is listed by kind, and the explanation's logit is the head's", () => {
  const bytes = apiModelBytes();
  const engine = createTsEngine(bytes);
  const { weights } = readModelOnnx(bytes);
  const Z = engine.meta.embedDim;
  const examples: HeadExample[] = Array.from({ length: 10 }, (_, i) => {
    const f = featuresOfRecord(shopRecord(i));
    return { z: engine.embedSync(f), label: 0 as const, structure: f.structure, features: f };
  });
  const unlabeled = Array.from({ length: 200 }, (_, i) => {
    const f = featuresOfRecord(shopRecord(i + 10));
    return { structure: f.structure, params: f.params };
  });
  const init: HeadParams = { w: Float32Array.from(engine.head.w), b: engine.head.b };
  assert(init.w.length === Z);
  const { head } = adaptHead(init, examples, { ...CONFIG }, { unlabeled });
  const rec = shopRecord(3, "-5");
  const trace = new Map<number, string[]>();
  const f = featuresOfRecord(rec, FEATURE_SPEC, trace);
  const ex = explainLogit(weights, head, f, trace, 10_000);
  const want = logitWithHead(head, engine.embedSync(f), f.structure, undefined, f);
  assert(Math.abs(ex.logit - want) < 1e-4, `${ex.logit} vs ${want}`);
  const broken = valueBreaks(head.values!, f.params, f.params.length, false);
  const listed = ex.top.filter((c) => VALUE_NAMES.includes(c.feature));
  nodeAssert.equal(listed.length, broken.filter((c) => c > 0).length);
  for (const c of listed) {
    const k = VALUE_NAMES.indexOf(c.feature);
    nodeAssert.equal(c.value, broken[k]);
    const x = Math.fround(head.profile!.weight * Math.log1p(broken[k]));
    assert(Math.abs(c.contribution - head.av![k] * x) < 1e-6, c.feature);
  }
  assert(listed.some((c) => c.feature === VALUE_NAMES[V_NUMBER]), "the out-of-range quantity is named");
});

Deno.test("stored head: a full residual, a 2 KB site profile and a full value profile stay within 64 KB", () => {
  // The largest value profile the caps allow: 128 endpoints, 128 parameters, each an enumeration of 8 values.
  const p = new ValueProfile(DEFAULT_VALUE_CONFIG);
  for (let e = 0; e < 128; e++) {
    for (let i = 0; i < 8; i++) p.add(get(`/e${e}?v=${-2_000_000_000 + i * 7}`));
  }
  const values = p.compact();
  nodeAssert.equal(values.size, 128);
  const head: HeadParams = {
    w: Float32Array.from({ length: 32 }, (_, j) => Math.fround(Math.sin(j) / 3)),
    b: -1.2345678,
    ri: Int32Array.from({ length: 1024 }, (_, k) => k * 7),
    rv: Float32Array.from({ length: 1024 }, (_, k) => Math.fround(-0.123456789 * Math.cos(k))),
    rd: Float32Array.from({ length: 42 }, (_, k) => Math.fround(0.0123456789 * k)),
    a: Float32Array.from({ length: 8 }, (_, k) => Math.fround(1.23456789 * k)),
    profile: { bits: new Uint8Array(2048).fill(0xa5), requests: 5000, tokens: 1300, minCount: 2, weight: 1 },
    av: Float32Array.from({ length: VALUE_DIM }, (_, k) => Math.fround(2.3456789 * k)),
    values,
  };
  const text = JSON.stringify({ version: 1, head: headToJson(head), createdAt: new Date(0).toISOString() });
  assert(text.length <= 64 * 1024, `${text.length} bytes`);
  const back = headFromJson(parseStoredHead(JSON.parse(text)).head);
  nodeAssert.equal(back.values!.size, 128);
});
