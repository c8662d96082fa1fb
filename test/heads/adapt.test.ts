// adaptHead: deterministic, benign-only uploads work, the proximal pull bounds the change, the site profile
// is built from benign and unlabelled traffic and scored as the head says.
import nodeAssert from "node:assert/strict";
import { featuresOfRecord } from "../../src/features/mod.ts";
import { type AdaptConfig, adaptHead, type HeadExample, headInputs } from "../../src/heads/adapt.ts";
import { NOVELTY_DIM, noveltyFeatures, type SiteProfileConfig } from "../../src/heads/site_profile.ts";
import { logitWithHead, scoreWithHead } from "../../src/heads/score.ts";
import type { HeadParams } from "../../src/model/types.ts";
import type { RequestRecord } from "../../src/record/record.ts";

const assert = (ok: unknown, msg = "assertion failed") => nodeAssert.ok(ok, msg);
const assertEquals = (a: unknown, b: unknown) => nodeAssert.deepStrictEqual(a, b);
const assertThrows = (f: () => unknown, e: new (...args: never[]) => Error) => nodeAssert.throws(f, e);
const assertAlmostEquals = (a: number, b: number, tol: number) =>
  nodeAssert.ok(Math.abs(a - b) <= tol, `${a} is not within ${tol} of ${b}`);

const Z = 4;
const init: HeadParams = { w: new Float32Array([1, -0.5, 0.25, 0]), b: -0.2 };
const GD: AdaptConfig = { method: "gd", steps: 20, lr: 0.5, prox: 0.05 };

/** A small deterministic generator, so examples are fixed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

function examples(n: number, seed: number): HeadExample[] {
  const r = lcg(seed);
  return Array.from({ length: n }, (_, i) => {
    const label = (i % 2) as 0 | 1;
    const z = Float32Array.from(
      { length: Z },
      (_, j) => (label ? 0.6 : -0.4) * (j === 3 ? 1 : 0.2) + (r() - 0.5) * 0.4,
    );
    return { z, label };
  });
}

Deno.test("adaptHead: the same inputs give the same head, bit for bit", () => {
  const ex = examples(20, 1);
  const a = adaptHead(init, ex, GD), b = adaptHead(init, ex, GD);
  assertEquals(Array.from(a.head.w), Array.from(b.head.w));
  assertEquals(a.head.b, b.head.b);
  assertEquals(a.steps, GD.steps);
});

Deno.test("adaptHead: no examples return the init", () => {
  const { head, steps } = adaptHead(init, [], GD);
  assertEquals(Array.from(head.w), Array.from(init.w));
  assertEquals(head.b, init.b);
  assertEquals(steps, 0);
});

Deno.test("adaptHead: labelled examples separate better after adaptation", () => {
  const ex = examples(40, 2);
  const { head } = adaptHead(init, ex, GD);
  const margin = (h: HeadParams) => {
    let m = 0;
    for (const e of ex) m += (e.label ? 1 : -1) * logitWithHead(h, e.z);
    return m / ex.length;
  };
  assert(
    margin(head) > margin(init),
    `margin ${margin(head)} ≤ ${margin(init)}`,
  );
});

Deno.test("adaptHead: benign-only uploads (false positives) lower their scores", () => {
  const fp = examples(20, 3).filter((e) => e.label === 1).map((e) => ({
    z: e.z,
    label: 0 as const,
  }));
  const { head } = adaptHead(init, fp, GD);
  for (const e of fp) {
    assert(scoreWithHead(head, e.z) < scoreWithHead(init, e.z));
  }
});

Deno.test("adaptHead: the proximal pull keeps the head closer to the init the stronger it is", () => {
  const ex = examples(30, 4);
  const dist = (h: HeadParams) => {
    let d = (h.b - init.b) ** 2;
    for (let j = 0; j < Z; j++) d += (h.w[j] - init.w[j]) ** 2;
    return Math.sqrt(d);
  };
  const weak = dist(adaptHead(init, ex, { ...GD, prox: 0.001 }).head);
  const strong = dist(adaptHead(init, ex, { ...GD, prox: 1 }).head);
  const huge = dist(adaptHead(init, ex, { ...GD, prox: 1e3, lr: 1e-4 }).head);
  assert(strong < weak, `prox 1 moved ${strong}, prox 0.001 moved ${weak}`);
  assert(huge < 1e-2, `a huge pull still moved ${huge}`);
});

Deno.test("adaptHead: the prototype method moves along the class means, and keeps the init with one class", () => {
  const ex = examples(20, 5);
  const { head } = adaptHead(init, ex, {
    ...GD,
    method: "proto",
    protoScale: 1,
  });
  assert(head.w[3] > init.w[3]);
  const one = adaptHead(init, ex.filter((e) => e.label === 0), {
    ...GD,
    method: "proto",
    protoScale: 1,
  });
  assertEquals(Array.from(one.head.w), Array.from(init.w));
});

Deno.test("adaptHead: an embedding of the wrong width is refused", () => {
  assertThrows(
    () => adaptHead(init, [{ z: new Float32Array(3), label: 0 }], GD),
    RangeError,
  );
});

const PROFILE: SiteProfileConfig = {
  minCount: 1,
  minCountLarge: 2,
  largeFrom: 0,
  confidence: 10,
  a0: new Array(NOVELTY_DIM).fill(0.5),
};

const rec = (url: string, method = "GET"): RequestRecord => ({ method, url, headers: { accept: "*/*" } });
const tokens = (r: RequestRecord) => featuresOfRecord(r).structure;
const siteTraffic = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ structure: tokens(rec(`/shop/item?id=${i}&sort=asc`)) }));

Deno.test("adaptHead with a profile: built from benign and unlabelled traffic; unusual requests score higher", () => {
  const unlabeled = siteTraffic(50);
  const z = new Float32Array(Z).fill(0.1);
  const { head } = adaptHead(init, [{ z, label: 0, structure: tokens(rec("/shop/item?id=5&sort=asc")) }], {
    ...GD,
    profile: PROFILE,
  }, { unlabeled });
  assert(head.a && head.profile, "the head carries the novelty weights and the profile");
  assertEquals(head.a!.length, NOVELTY_DIM);
  assertEquals(head.profile!.requests, 51);
  assertAlmostEquals(head.profile!.weight, 51 / 61, 1e-12);
  for (const a of head.a!) assert(a >= 0, "novelty weights stay non-negative");
  const usual = tokens(rec("/shop/item?id=77&sort=asc")), odd = tokens(rec("/shop/item?id=1&is_admin=true"));
  assert(scoreWithHead(head, z, odd) > scoreWithHead(head, z, usual));
  // Without structure tokens the head is the plain logistic head; the profile term is exactly a·n.
  const plain: HeadParams = { w: head.w, b: head.b };
  assertEquals(logitWithHead(head, z), logitWithHead(plain, z));
  const n = noveltyFeatures(head.profile!, odd);
  let term = 0;
  for (let k = 0; k < NOVELTY_DIM; k++) term += head.a![k] * n[k];
  assert(term > 0);
  assertAlmostEquals(logitWithHead(head, z, odd), logitWithHead(plain, z) + term, 1e-9);
  assertEquals(Array.from(noveltyFeatures(head.profile!, usual)), new Array(NOVELTY_DIM).fill(0));
});

Deno.test("adaptHead with a profile: no structure known gives a plain head", () => {
  const { head } = adaptHead(init, examples(6, 7), { ...GD, profile: PROFILE });
  assertEquals(head.profile, undefined);
  assertEquals(head.a, undefined);
});

Deno.test("adaptHead with a profile: benign examples do not vouch for themselves (leave-one-out)", () => {
  // A benign example with a parameter nobody else uses is novel against the rest of the site, so the fit
  // sees a positive novelty on a benign example and cannot learn that unusual means attack from it alone.
  const odd = rec("/shop/item?id=1&is_admin=true");
  const inputs = headInputs(
    new Float32Array(Z),
    [0],
    1,
    Z,
    [tokens(odd)],
    siteTraffic(20).map((u) => u.structure),
    PROFILE,
  );
  assertEquals(inputs.F, Z + NOVELTY_DIM);
  let novelty = 0;
  for (let k = 0; k < NOVELTY_DIM; k++) novelty += inputs.X[Z + k];
  assert(novelty > 0, "its own tokens were counted");
});

Deno.test("adaptHead: 50 examples per class with 1000 unlabelled requests cost a few milliseconds", () => {
  // Not a timing assertion (see the bench): a smoke run at the production size, Z = 32.
  const r = lcg(9), Z32 = 32;
  const head: HeadParams = { w: new Float32Array(Z32).fill(0.1), b: 0 };
  const ex = Array.from({ length: 100 }, (_, i) => ({
    z: Float32Array.from({ length: Z32 }, () => r() - 0.5),
    label: (i % 2) as 0 | 1,
    structure: tokens(rec(`/p/${i % 7}?q=${i}`)),
  }));
  const out = adaptHead(head, ex, { ...GD, profile: PROFILE }, { unlabeled: siteTraffic(1000) });
  assertEquals(out.head.a!.length, NOVELTY_DIM);
  assertEquals(out.head.profile!.requests, 1050);
  assert(Number.isFinite(out.loss));
});
