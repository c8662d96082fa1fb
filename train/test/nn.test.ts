// Gradient checks of every layer, the loss, the head adaptation's backward pass, and the optimiser.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fitHead, headInputs, protoHead } from "@taugate/heads/adapt.ts";
import {
  minCountFor,
  NOVELTY_DIM,
  noveltyFeatures,
  noveltyOfCounts,
  profileWeight,
  siteProfileOf,
} from "@taugate/heads/site_profile.ts";
import { TokenIndex } from "../src/learn/novelty.ts";
import { fitHeadBackward, protoHeadBackward } from "../src/learn/head_grad.ts";
import { Adam } from "../src/nn/adam.ts";
import { Backbone } from "../src/nn/backbone.ts";
import { Dense } from "../src/nn/dense.ts";
import { type FeatureSet, featurise, rowStructure } from "../src/nn/features.ts";
import { balancedWeights, logisticLoss } from "../src/nn/loss.ts";
import { SparseLinear } from "../src/nn/sparse_linear.ts";
import { Rng } from "../src/util/rng.ts";
import { checkGrad, spread } from "./gradcheck.ts";

/** A small random feature set: D buckets, a few entries per row, a dense block. */
function tinySet(rng: Rng, n = 6, dim = 64, denseDim = 5): FeatureSet {
  const rowPtr = new Int32Array(n + 1), idx: number[] = [], val: number[] = [];
  for (let r = 0; r < n; r++) {
    const k = 3 + rng.int(5);
    const cols = rng.sampleIndices(dim, k).sort((a, b) => a - b);
    for (const c of cols) idx.push(c), val.push(rng.gaussian());
    rowPtr[r + 1] = idx.length;
  }
  const dense = Float32Array.from(
    { length: n * denseDim },
    () => (rng.chance(0.3) ? 0 : rng.next()),
  );
  const label = Uint8Array.from({ length: n }, (_, i) => i % 2);
  return {
    n,
    dim,
    denseDim,
    rowPtr,
    idx: Int32Array.from(idx),
    val: Float32Array.from(val),
    dense,
    label,
    stPtr: new Int32Array(n + 1),
    stTok: new Int32Array(0),
    paPtr: new Int32Array(n + 1),
    paTok: new Int32Array(0),
  };
}

test("sparse first layer: analytic gradients of W (touched rows), Wd and b match finite differences", () => {
  const rng = new Rng(1);
  const set = tinySet(rng);
  const layer = new SparseLinear(set.dim, set.denseDim, 4, rng);
  const rows = [0, 2, 3, 5, 2];
  const c = Float32Array.from(
    { length: rows.length * 4 },
    () => rng.gaussian(),
  );
  const y = new Float32Array(rows.length * 4);
  const loss = () => {
    layer.forward(set, rows, y);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += c[i] * y[i];
    return s;
  };
  layer.zeroGrad();
  layer.backward(set, rows, c);
  const touched = Array.from(layer.touchedList.subarray(0, layer.nTouched));
  assert.ok(touched.length > 0);
  for (const r of touched) {
    for (let k = set.rowPtr[r]; k < set.rowPtr[r + 1]; k++) assert.ok(true);
  }
  checkGrad(
    "W",
    layer.W,
    layer.gW,
    loss,
    touched.flatMap((r) => [r * 4, r * 4 + 3]),
  );
  checkGrad("Wd", layer.Wd, layer.gWd, loss, spread(layer.Wd.length, 12));
  checkGrad("b", layer.b, layer.gb, loss, [0, 1, 2, 3]);
  // Rows no request used have no gradient and are not listed.
  const untouched = [...Array(set.dim).keys()].filter((r) => !touched.includes(r));
  for (const r of untouched) assert.equal(layer.gW[r * 4], 0);
  layer.zeroGrad();
  assert.equal(layer.nTouched, 0);
  assert.ok(layer.gW.every((g) => g === 0));
});

for (const act of ["relu", "tanh", "none"] as const) {
  test(`dense layer (${act}): gradients of W, b and the input match finite differences`, () => {
    const rng = new Rng(2);
    const layer = new Dense(5, 3, act, rng);
    const B = 4;
    const x = Float32Array.from({ length: B * 5 }, () => rng.gaussian());
    const c = Float32Array.from({ length: B * 3 }, () => rng.gaussian());
    const y = new Float32Array(B * 3);
    const loss = () => {
      layer.forward(x, B, y);
      let s = 0;
      for (let i = 0; i < y.length; i++) s += c[i] * y[i];
      return s;
    };
    loss();
    const dy = c.slice(), dx = new Float32Array(B * 5);
    layer.zeroGrad();
    layer.backward(x, y, dy, B, dx);
    checkGrad("W", layer.W, layer.gW, loss, spread(15, 15));
    checkGrad("b", layer.b, layer.gb, loss, [0, 1, 2]);
    checkGrad("x", x, dx, loss, spread(20, 20));
  });
}

test("logistic loss: gradient matches finite differences; balanced weights give each class half", () => {
  const rng = new Rng(3);
  const n = 7;
  const s = Float64Array.from({ length: n }, () => 3 * rng.gaussian());
  const y = [0, 1, 1, 0, 1, 1, 1];
  const w = new Float64Array(n);
  balancedWeights(y, n, w);
  assert.ok(
    Math.abs(w.filter((_, i) => y[i] === 0).reduce((a, b) => a + b, 0) - 0.5) <
      1e-12,
  );
  assert.ok(
    Math.abs(w.filter((_, i) => y[i] === 1).reduce((a, b) => a + b, 0) - 0.5) <
      1e-12,
  );
  const d = new Float64Array(n);
  logisticLoss(s, y, w, n, d);
  checkGrad(
    "logits",
    s,
    d,
    () => logisticLoss(s, y, w, n, null),
    spread(n, n),
    1e-5,
    1e-6,
  );
  // Stable for huge logits.
  assert.ok(
    Number.isFinite(logisticLoss([1000, -1000], [0, 1], [1, 1], 2, null)),
  );
});

test("backbone: end-to-end gradients (through relu, tanh) of every parameter group", () => {
  const rng = new Rng(4);
  const set = tinySet(rng, 5, 32, 4);
  const bb = new Backbone({
    dim: 32,
    denseDim: 4,
    hidden: 6,
    layers: [{ out: 5, act: "relu" }, { out: 3, act: "tanh" }],
  }, rng);
  const rows = [0, 1, 2, 3, 4];
  const c = Float32Array.from(
    { length: rows.length * 3 },
    () => rng.gaussian(),
  );
  const loss = () => {
    const z = bb.forward(set, rows);
    let s = 0;
    for (let i = 0; i < z.length; i++) s += c[i] * z[i];
    return s;
  };
  loss();
  bb.zeroGrad();
  bb.backward(set, rows, c);
  for (const g of bb.params()) {
    const coords = g.rows
      ? Array.from(g.rows.list.subarray(0, g.rows.count())).map((r) => r * g.rows!.len)
      : spread(g.p.length, 10);
    checkGrad(g.name, g.p, g.g, loss, coords);
  }
});

/** Query loss at the adapted head as a function of θ₀ and the support inputs. */
function adaptedLoss(
  theta0: Float64Array,
  F: number,
  Xq: Float32Array,
  yq: number[],
  adapt: (
    th0: Float64Array,
    th: Float64Array,
    tape: Float64Array[] | null,
  ) => void,
  steps: number,
): {
  loss: () => number;
  thBar: () => Float64Array;
  tape: Float64Array[];
  th: Float64Array;
} {
  const th = new Float64Array(F + 1);
  const tape = Array.from({ length: steps + 1 }, () => new Float64Array(F + 1));
  const loss = () => {
    adapt(theta0, th, null);
    let l = 0;
    for (let i = 0; i < yq.length; i++) {
      let s = th[F];
      for (let j = 0; j < F; j++) s += th[j] * Xq[i * F + j];
      l += Math.log1p(Math.exp(s)) - yq[i] * s;
    }
    return l;
  };
  const thBar = () => {
    adapt(theta0, th, tape);
    const g = new Float64Array(F + 1);
    for (let i = 0; i < yq.length; i++) {
      let s = th[F];
      for (let j = 0; j < F; j++) s += th[j] * Xq[i * F + j];
      const r = 1 / (1 + Math.exp(-s)) - yq[i];
      for (let j = 0; j < F; j++) g[j] += r * Xq[i * F + j];
      g[F] += r;
    }
    return g;
  };
  return { loss, thBar, tape, th };
}

test("head adaptation: backward through the unrolled steps matches finite differences (θ₀ and support)", () => {
  const rng = new Rng(5);
  const F = 4, n = 6, steps = 7;
  const X = Float32Array.from({ length: n * F }, () => rng.gaussian() * 0.7);
  const ys = [0, 1, 0, 1, 1, 0];
  const Xq = Float32Array.from({ length: 5 * F }, () => rng.gaussian());
  const yq = [1, 0, 0, 1, 1];
  const theta0 = Float64Array.from(
    { length: F + 1 },
    () => rng.gaussian() * 0.3,
  );
  const cfg = { method: "gd" as const, steps, lr: 0.4, prox: 0.3 };
  const h = adaptedLoss(
    theta0,
    F,
    Xq,
    yq,
    (t0, th, tape) => fitHead(t0, X, ys, n, F, cfg, th, tape),
    steps,
  );
  const tBar = new Float64Array(F + 1), xBar = new Float32Array(n * F);
  fitHeadBackward(h.thBar(), h.tape, X, ys, n, F, cfg, false, tBar, xBar);
  checkGrad("θ₀", theta0, tBar, h.loss, spread(F + 1, F + 1), 1e-5, 1e-4);
  checkGrad("support", X, xBar, h.loss, spread(n * F, n * F), 1e-3, 1e-3);
  // First order: θ̄₀ = θ̄_T, nothing for the support.
  const fo = new Float64Array(F + 1), foX = new Float32Array(n * F);
  const thBar = h.thBar();
  fitHeadBackward(thBar.slice(), h.tape, X, ys, n, F, cfg, true, fo, foX);
  assert.deepEqual(Array.from(fo), Array.from(thBar));
  assert.ok(foX.every((v) => v === 0));
});

test("prototype head: backward matches finite differences (θ₀, support, scale)", () => {
  const rng = new Rng(6);
  const F = 3, n = 6;
  const X = Float32Array.from({ length: n * F }, () => rng.gaussian());
  const ys = [0, 1, 0, 1, 1, 0];
  const Xq = Float32Array.from({ length: 4 * F }, () => rng.gaussian());
  const yq = [1, 0, 1, 0];
  const theta0 = Float64Array.from(
    { length: F + 1 },
    () => rng.gaussian() * 0.3,
  );
  const scale = new Float64Array([0.8]);
  const h = adaptedLoss(
    theta0,
    F,
    Xq,
    yq,
    (t0, th) => protoHead(t0, X, ys, n, F, scale[0], th),
    0,
  );
  const tBar = new Float64Array(F + 1), xBar = new Float32Array(n * F);
  const sBar = protoHeadBackward(h.thBar(), X, ys, n, F, scale[0], tBar, xBar);
  checkGrad("θ₀", theta0, tBar, h.loss, spread(F + 1, F + 1), 1e-5, 1e-4);
  checkGrad("support", X, xBar, h.loss, spread(n * F, n * F), 1e-3, 1e-3);
  checkGrad("scale", scale, [sBar], h.loss, [0], 1e-5, 1e-4);
});

test("head adaptation with non-negative novelty weights: backward matches finite differences", () => {
  const rng = new Rng(9);
  const F = 5, n = 6, steps = 6;
  const nonNeg = { from: 3, to: 5 };
  const X = Float32Array.from({ length: n * F }, () => rng.gaussian() * 0.7);
  const ys = [0, 1, 0, 1, 1, 0];
  const Xq = Float32Array.from({ length: 5 * F }, () => rng.gaussian());
  const yq = [1, 0, 0, 1, 1];
  // One weight starts well above 0 (never projected), one at 0 and pushed below it (held at 0).
  const theta0 = Float64Array.from([0.2, -0.1, 0.3, 0.9, 0, -0.2]);
  for (let i = 0; i < n; i++) X[i * F + 4] = ys[i] === 1 ? -1 : 1;
  const cfg = { method: "gd" as const, steps, lr: 0.4, prox: 0.3 };
  const h = adaptedLoss(
    theta0,
    F,
    Xq,
    yq,
    (t0, th, tape) => fitHead(t0, X, ys, n, F, cfg, th, tape, nonNeg),
    steps,
  );
  const tBar = new Float64Array(F + 1), xBar = new Float32Array(n * F);
  fitHeadBackward(h.thBar(), h.tape, X, ys, n, F, cfg, false, tBar, xBar, nonNeg);
  assert.equal(h.th[4], 0, "the pushed-down weight is held at 0");
  assert.ok(h.th[3] > 0);
  checkGrad("θ₀", theta0, tBar, h.loss, spread(F + 1, F + 1), 1e-5, 1e-4);
  checkGrad("support", X, xBar, h.loss, spread(n * F, n * F), 1e-3, 1e-3);
});

test("training novelty (interned counts) equals adaptHead's inputs, leave-one-out for benign shots", () => {
  const records = [
    { method: "GET", url: "/shop/item?id=12", headers: { accept: "*/*" }, label: 0 as const },
    { method: "GET", url: "/shop/item?id=7&sort=asc", headers: { accept: "*/*" }, label: 0 as const },
    { method: "GET", url: "/shop/list?page=2", headers: { accept: "*/*" }, label: 0 as const },
    { method: "GET", url: "/shop/item?id=1'--", headers: { accept: "*/*" }, label: 1 as const },
    {
      method: "POST",
      url: "/.git/config?debug=1",
      headers: { "x-odd": "1" },
      body: "a=1",
      label: 1 as const,
    },
    { method: "GET", url: "/shop/list?page=3", headers: { accept: "*/*" }, label: 0 as const },
  ];
  const set = featurise(records);
  const index = new TokenIndex(set);
  const cfg = {
    minCount: 1,
    minCountLarge: 2,
    largeFrom: 0,
    confidence: 3,
    a0: new Array(NOVELTY_DIM).fill(0),
  };
  // Shots: rows 0, 1, 3 (two benign, one attack); unlabelled: rows 2, 5; query: row 4.
  const shots = [0, 1, 3], ys = shots.map((r) => set.label[r]), unl = [2, 5];
  const inputs = headInputs(
    new Float32Array(0),
    ys,
    shots.length,
    0,
    shots.map((r) => rowStructure(set, r)),
    unl.map((r) => rowStructure(set, r)),
    cfg,
  );
  assert.equal(inputs.F, NOVELTY_DIM);
  const profileRows = [0, 1, 2, 5];
  index.count(profileRows, 0, profileRows.length, 1);
  const R = profileRows.length, got = new Float32Array(shots.length * NOVELTY_DIM);
  shots.forEach((r, i) =>
    index.novelty(r, minCountFor(cfg, R), profileWeight(cfg, R), ys[i] === 0, got, i * NOVELTY_DIM)
  );
  index.count(profileRows, 0, profileRows.length, -1);
  assert.deepEqual(Array.from(got), Array.from(inputs.X));
  assert.ok(index.counts.every((c) => c === 0), "counts cleared");
  // The attack has novel tokens; a benign shot whose tokens only it uses is novel too (leave-one-out).
  assert.ok(got.subarray(2 * NOVELTY_DIM).some((v) => v > 0));
  // And the stored profile scores the query as the exact counts do (no Bloom false positive here).
  const exact = new Float32Array(NOVELTY_DIM);
  noveltyOfCounts(inputs.counts!, rowStructure(set, 4), inputs.minCount, inputs.weight, false, exact);
  const bloom = noveltyFeatures(
    siteProfileOf(inputs.counts!, inputs.minCount, inputs.weight),
    rowStructure(set, 4),
  );
  assert.deepEqual(Array.from(bloom), Array.from(exact));
  assert.ok(exact.some((v) => v > 0));
});

test("Adam: reduces a quadratic; a sparse group updates only its touched rows", () => {
  const p = new Float32Array([3, -2, 5, 1]), g = new Float32Array(4);
  const list = new Int32Array([1, 0]);
  const opt = new Adam([{
    name: "p",
    p,
    g,
    rows: { len: 2, list, count: () => 1 },
  }], { lr: 0.1 });
  for (let t = 0; t < 200; t++) {
    for (let i = 0; i < 4; i++) g[i] = 2 * p[i];
    opt.step();
  }
  // Row 1 (coordinates 2 and 3) was touched and went to the minimum; row 0 never moved.
  assert.ok(
    Math.abs(p[2]) < 0.05 && Math.abs(p[3]) < 0.05,
    `touched row: ${p[2]}, ${p[3]}`,
  );
  assert.deepEqual([p[0], p[1]], [3, -2]);
  // The first Adam step moves each coordinate by lr·sign(g) (bias-corrected moments).
  const q = new Float32Array([1, -1]), gq = new Float32Array([0.5, -4]);
  new Adam([{ name: "q", p: q, g: gq }], { lr: 0.01 }).step();
  assert.ok(Math.abs(q[0] - 0.99) < 1e-6 && Math.abs(q[1] + 0.99) < 1e-6);
});
