// Hard benign weighting (`TrainConfig.hardBenign`): benign rows the head scores high count more in the outer
// losses, so the benign tail that decides τ is pushed down; attacks keep weight 1.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FEATURE_SPEC } from "@taugate/features/spec.ts";
import { rowWeight, train } from "../src/learn/meta.ts";
import { buildTaskSet } from "../src/learn/tasks.ts";
import { tinyConfig, tinyTenant } from "./_tiny.ts";

test("hard benign weight: attacks and an absent setting weigh 1; a benign row more the higher it scores", () => {
  const hard = { weight: 4, power: 2 };
  assert.equal(rowWeight(1, 5, hard), 1);
  assert.equal(rowWeight(0, 5, undefined), 1);
  assert.equal(rowWeight(0, 5, { weight: 0, power: 2 }), 1);
  assert.ok(Math.abs(rowWeight(0, 0, hard) - 2) < 1e-12, "p = 0.5: 1 + 4 · 0.25");
  assert.ok(rowWeight(0, -8, hard) < 1.001, "a confident benign row weighs about 1");
  assert.ok(rowWeight(0, 3, hard) > rowWeight(0, 1, hard) && rowWeight(0, 3, hard) < 5);
});

const LOOK_ALIKES = ["union+select+shoes", "%3Cscript%3E+tag", "cat+%2Fetc%2Fpasswd+file", "or+1%3D1"];

/**
 * Tiny tenants with ambiguous requests, as real logs have: search texts that look like injections, logged
 * three times as ordinary traffic for every time they come labelled as an attack.
 */
function tenants() {
  return ["a", "b", "c", "d"].map((id, i) => {
    const t = tinyTenant(id, i, 48);
    const lookAlike = (url: string, k: number) =>
      url.replace(/q=[^&]*/, `q=${LOOK_ALIKES[k % LOOK_ALIKES.length]}`);
    t.benign = t.benign.map((r, k) => k % 4 === 0 ? { ...r, url: lookAlike(r.url, k / 4) } : r);
    t.attacks = t.attacks.map((r, k) => k % 12 === 0 ? { ...r, url: lookAlike(r.url, k / 12) } : r);
    return t;
  });
}

test("hard benign weight: ambiguous requests score lower, the clear attacks stay high", () => {
  const ts = buildTaskSet(tenants(), FEATURE_SPEC);
  const isLookAlike = (url: string) => LOOK_ALIKES.some((w) => url.includes(`q=${w}`));
  const records = tenants().flatMap((t) => [...t.benign, ...t.attacks]);
  assert.equal(records.length, ts.set.n);
  const means = (hardBenign?: { weight: number; power: number }) => {
    const t = train(ts, tinyConfig({ method: "erm", updates: 300, hardBenign }), true);
    const z = t.backbone.embedAll(ts.set), Z = t.backbone.embedDim;
    const sum = { ambiguous: [0, 0], attack: [0, 0] };
    for (let i = 0; i < ts.set.n; i++) {
      let s = t.head.b;
      for (let j = 0; j < Z; j++) s += t.head.w[j] * z[i * Z + j];
      const p = 1 / (1 + Math.exp(-s));
      const k = isLookAlike(records[i].url) ? "ambiguous" : ts.set.label[i] === 1 ? "attack" : null;
      if (k) sum[k][0] += p, sum[k][1]++;
    }
    return { ambiguous: sum.ambiguous[0] / sum.ambiguous[1], attack: sum.attack[0] / sum.attack[1] };
  };
  const plain = means(), hard = means({ weight: 8, power: 2 });
  const msg = `${JSON.stringify(plain)} → ${JSON.stringify(hard)}`;
  // Three benign to one attack: the plain optimum is 0.25; weighted, the benign rows near it count about 1.5 times.
  assert.ok(hard.ambiguous < plain.ambiguous - 0.03, msg);
  assert.ok(hard.attack > 0.8, msg);
});
