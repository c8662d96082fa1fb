// Training end to end on tiny data: deterministic for a seed, learns, and every method runs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { NOVELTY_DIM } from "@taugate/heads/site_profile.ts";
import { auc } from "../src/eval/metrics.ts";
import { type Method, train, type TrainConfig } from "../src/learn/meta.ts";
import { PROX_CANDIDATES, selectProx } from "../src/learn/select.ts";
import { tinyConfig, tinyTasks, tinyTenant } from "./_tiny.ts";

const CFG: TrainConfig = tinyConfig();

const tasks = tinyTasks();

function weightsOf(t: ReturnType<typeof train>): number[] {
  const w = t.backbone.toWeights();
  return [
    ...w.W1,
    ...w.Wd,
    ...w.b1,
    ...w.layers.flatMap((l) => [...l.W, ...l.b]),
    ...t.head.w,
    t.head.b,
  ];
}

test("training: the same seed gives identical weights; another seed gives others", () => {
  const a = train(tasks, CFG, true),
    b = train(tasks, CFG, true),
    c = train(tasks, { ...CFG, seed: 8 }, true);
  assert.deepEqual(weightsOf(a), weightsOf(b));
  assert.deepEqual(a.adapt, b.adapt);
  assert.notDeepEqual(weightsOf(a), weightsOf(c));
});

for (const method of ["anil", "anil-fo", "proto", "erm"] as Method[]) {
  test(`training (${method}): the global head separates the tiny tenants' attacks after a short run`, () => {
    const t = train(tasks, { ...CFG, method, updates: 120 }, true);
    const z = t.backbone.embedAll(tasks.set);
    const Z = t.backbone.embedDim, scores: number[] = [];
    for (let i = 0; i < tasks.set.n; i++) {
      let s = t.head.b;
      for (let j = 0; j < Z; j++) s += t.head.w[j] * z[i * Z + j];
      scores.push(s);
    }
    assert.ok(
      auc(scores, tasks.set.label) > 0.9,
      `AUC ${auc(scores, tasks.set.label)}`,
    );
    assert.ok(Number.isFinite(t.finalLoss));
    if (method === "proto") assert.equal(t.adapt.method, "proto");
    // a₀ is learned (ERM too: its pooled rows are scored against profiles of their tenant), never negative.
    assert.equal(t.adapt.profile!.a0.length, NOVELTY_DIM);
    assert.ok(t.adapt.profile!.a0.every((a) => a >= 0));
  });
}

test("adaptation λ: chosen among the candidates on validation pools, ties going to the stronger pull", () => {
  const t = train(tasks, {
    ...CFG,
    method: "anil-fo",
    updates: 60,
    adapt: { ...CFG.adapt, profile: undefined },
  }, true);
  const pools = ["v1", "v2"].map((id, i) => {
    const site = tinyTenant(id, 50 + i, 30);
    return [...site.benign, ...site.attacks];
  });
  const choice = selectProx(t, pools, 1);
  assert.deepEqual(choice.table.map((r) => r.prox), PROX_CANDIDATES);
  const best = Math.max(...choice.table.map((r) => r.auc));
  const winner = choice.table.find((r) => r.prox === choice.adapt.prox)!;
  assert.ok(winner.auc >= best - 0.001);
  for (const r of choice.table) {
    if (r.auc >= best - 0.001) assert.ok(r.prox <= choice.adapt.prox);
  }
  assert.equal(choice.adapt.steps, t.adapt.steps);
});
