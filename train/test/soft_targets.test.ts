// Soft targets (`WorldConfig.softAnomalies`): the site-relative anomaly families meta-training sees train
// toward a target below 1, so the global head ranks them above ordinary traffic without scoring them as
// attacks.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FEATURE_SPEC } from "@taugate/features/spec.ts";
import { train } from "../src/learn/meta.ts";
import { buildTaskSet, repeatTasks } from "../src/learn/tasks.ts";
import { DEFAULT_WORLD, softTargetsOf, trainAnomalyFamilies } from "../src/synth/world.ts";
import { tinyConfig, tinyTenant } from "./_tiny.ts";

/** Tiny tenants whose every third attack is a method tampering (a DELETE of a page) instead of an injection. */
function tenants() {
  return ["a", "b", "c", "d"].map((id, i) => {
    const t = tinyTenant(id, i);
    t.attacks = t.attacks.map((r, k) =>
      k % 3 === 0 ? { ...r, method: "DELETE", url: t.benign[k].url, family: "tamper-method" } : r
    );
    return t;
  });
}

test("soft targets: only the soft families' attacks get the target; the others keep their labels", () => {
  const soft = { families: ["tamper-method"], target: 0.3 };
  const ts = buildTaskSet(tenants(), FEATURE_SPEC, soft);
  assert.ok(ts.set.target !== undefined);
  let softRows = 0;
  for (let r = 0; r < ts.set.n; r++) {
    const want = ts.family[r] === "tamper-method" ? 0.3 : ts.set.label[r];
    assert.ok(Math.abs(ts.set.target![r] - want) < 1e-6, `row ${r} (${ts.family[r]}): ${ts.set.target![r]}`);
    if (ts.family[r] === "tamper-method") softRows++;
  }
  assert.ok(softRows >= 40, `${softRows} soft rows`);
  assert.equal(buildTaskSet(tenants(), FEATURE_SPEC).set.target, undefined, "no soft families: the labels");
});

test("soft targets: the global head scores the soft family between ordinary traffic and attacks", () => {
  const meanScores = (soft?: { families: string[]; target: number }) => {
    const ts = buildTaskSet(tenants(), FEATURE_SPEC, soft);
    const t = train(ts, tinyConfig({ method: "erm", updates: 300 }), true);
    const z = t.backbone.embedAll(ts.set), Z = t.backbone.embedDim;
    const sum = { benign: [0, 0], soft: [0, 0], attack: [0, 0] };
    for (let i = 0; i < ts.set.n; i++) {
      let s = t.head.b;
      for (let j = 0; j < Z; j++) s += t.head.w[j] * z[i * Z + j];
      const p = 1 / (1 + Math.exp(-s));
      const k = ts.family[i] === "tamper-method" ? "soft" : ts.set.label[i] === 1 ? "attack" : "benign";
      sum[k][0] += p, sum[k][1]++;
    }
    return {
      benign: sum.benign[0] / sum.benign[1],
      soft: sum.soft[0] / sum.soft[1],
      attack: sum.attack[0] / sum.attack[1],
    };
  };
  const hard = meanScores(), soft = meanScores({ families: ["tamper-method"], target: 0.3 });
  // Taught as attacks, the DELETEs score like attacks; with the soft target, near it: above the ordinary
  // requests, well below the injections.
  assert.ok(hard.soft > 0.8, JSON.stringify(hard));
  assert.ok(soft.soft > soft.benign + 0.1 && soft.soft < 0.5 && soft.attack > 0.8, JSON.stringify(soft));
});

test("soft targets: a world draws its soft families beside its hard ones, as often as it says", () => {
  const world = { ...DEFAULT_WORLD, softAnomalies: ["tamper-method", "probe"], softTarget: 0.5 };
  assert.deepEqual(softTargetsOf(world), { families: ["tamper-method", "probe"], target: 0.5 });
  const families = trainAnomalyFamilies(world);
  for (const f of [...DEFAULT_WORLD.trainAnomalies, "tamper-method"]) assert.ok(families.includes(f), f);
  assert.equal(new Set(families).size, families.length, "each family once");
  // The shipped world teaches the site-relative families with a soft target of 0.5, beside its hard ones.
  assert.deepEqual(softTargetsOf(DEFAULT_WORLD), { families: DEFAULT_WORLD.softAnomalies, target: 0.5 });
  assert.equal(softTargetsOf({ ...world, softAnomalies: [] }), undefined);
  assert.equal(softTargetsOf({ ...world, softTarget: undefined }), undefined);
  assert.deepEqual(trainAnomalyFamilies({ ...DEFAULT_WORLD, softAnomalies: [] }), [
    ...DEFAULT_WORLD.trainAnomalies,
  ]);
  for (const f of DEFAULT_WORLD.softAnomalies!) assert.ok(trainAnomalyFamilies(DEFAULT_WORLD).includes(f), f);
});

test("repeatTasks: a range of tenants is listed more often, sharing its rows; 1 leaves the set as it is", () => {
  const ts = buildTaskSet(tenants(), FEATURE_SPEC);
  assert.equal(repeatTasks(ts, 2, 4, 1), ts);
  const r = repeatTasks(ts, 2, 4, 3);
  assert.equal(r.set, ts.set, "the rows are the same set");
  assert.deepEqual(r.tasks.map((t) => t.id), ["a", "b", "c", "d", "c", "d", "c", "d"]);
  assert.equal(r.tasks[4].benign, ts.tasks[2].benign, "a repeated task shares its row indices");
  assert.equal(ts.tasks.length, 4, "the input is not changed");
});
