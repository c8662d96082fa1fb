// adaptHead: deterministic, benign-only uploads work, the proximal pull bounds the change, the site profile
// is built from benign and unlabelled traffic and scored as the head says.
import nodeAssert from "node:assert/strict";
import { type AdaptConfig, adaptHead, type HeadExample } from "../../src/heads/adapt.ts";
import { buildProfile, deviation, type ProfileConfig } from "../../src/heads/profile.ts";
import { logitWithHead, scoreWithHead } from "../../src/heads/score.ts";
import type { HeadParams } from "../../src/model/types.ts";

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

const PROFILE: ProfileConfig = {
  priorMean: [0, 0, 0, 0],
  priorVar: [0.1, 0.1, 0.1, 0.1],
  priorWeight: 2,
  trim: 0.1,
  minVar: 1e-3,
  a0: [0.5, 0.5, 0.5, 0.5],
  minExamples: 3,
};

Deno.test("adaptHead with a profile: built from benign and unlabelled traffic; far requests score higher", () => {
  const r = lcg(6);
  const normal = () => Float32Array.from({ length: Z }, () => 0.3 + (r() - 0.5) * 0.05);
  const unlabeled = Array.from({ length: 50 }, normal);
  const { head } = adaptHead(init, [{ z: normal(), label: 0 }], {
    ...GD,
    profile: PROFILE,
  }, { unlabeled });
  assert(head.mu && head.prec && head.a, "the head carries the profile");
  for (let j = 0; j < Z; j++) {
    assertAlmostEquals(head.mu![j], 0.3 * 51 / 53, 0.02);
  }
  const usual = normal(), odd = new Float32Array([0.3, 0.3, 0.9, 0.3]);
  assert(scoreWithHead(head, odd) > scoreWithHead(head, usual));
  // The profile term is exactly Σ a_j·deviation(z_j − mu_j, prec_j).
  const plain: HeadParams = { w: head.w, b: head.b };
  let term = 0;
  for (let j = 0; j < Z; j++) {
    term += head.a![j] * deviation(odd[j] - head.mu![j], head.prec![j]);
  }
  assertAlmostEquals(
    logitWithHead(head, odd),
    logitWithHead(plain, odd) + term,
    1e-5,
  );
});

Deno.test("adaptHead with a profile: too little benign traffic gives a plain head", () => {
  const { head } = adaptHead(init, examples(2, 7), { ...GD, profile: PROFILE });
  assertEquals(head.mu, undefined);
  assertEquals(head.a, undefined);
});

Deno.test("site profile: the most deviant unlabelled requests (likely attacks) are trimmed", () => {
  const r = lcg(8);
  const n = 40, zs = new Float32Array(n * Z);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < Z; j++) {
      zs[i * Z + j] = i < 4 ? 5 : (r() - 0.5) * 0.1;
    }
  }
  const trimmed = buildProfile(new Float32Array(0), 0, zs, n, Z, PROFILE)!;
  const kept = buildProfile(new Float32Array(0), 0, zs, n, Z, {
    ...PROFILE,
    trim: 0,
  })!;
  for (let j = 0; j < Z; j++) {
    assert(Math.abs(trimmed.mu[j]) < Math.abs(kept.mu[j]) / 5);
  }
});

Deno.test("adaptHead: 50 examples per class with 1000 unlabelled requests cost a few milliseconds", () => {
  // Not a timing assertion (see the bench): a smoke run at the production size, Z = 32.
  const r = lcg(9), Z32 = 32;
  const head: HeadParams = { w: new Float32Array(Z32).fill(0.1), b: 0 };
  const ex = Array.from(
    { length: 100 },
    (_, i) => ({
      z: Float32Array.from({ length: Z32 }, () => r() - 0.5),
      label: (i % 2) as 0 | 1,
    }),
  );
  const unl = Array.from(
    { length: 1000 },
    () => Float32Array.from({ length: Z32 }, () => r() - 0.5),
  );
  const profile = {
    ...PROFILE,
    priorMean: new Array(Z32).fill(0),
    priorVar: new Array(Z32).fill(0.1),
    a0: new Array(Z32).fill(0),
  };
  const out = adaptHead(head, ex, { ...GD, profile }, { unlabeled: unl });
  assertEquals(out.head.a!.length, Z32);
  assert(Number.isFinite(out.loss));
});
