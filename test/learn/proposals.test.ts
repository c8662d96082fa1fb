import assert from "node:assert/strict";
import { allowedExceedances, propose } from "../../src/learn/proposals.ts";
import { bucketOf, HIST_BUCKETS } from "../../src/learn/state.ts";
import { logit, sigmoid } from "../../src/util/math.ts";

/** A histogram of the given logits. */
function hist(logits: number[]): Float64Array {
  const h = new Float64Array(HIST_BUCKETS);
  for (const x of logits) h[bucketOf(x)]++;
  return h;
}

/** Exact binomial CDF by summation (small n), for checking. */
function binomCdf(k: number, n: number, p: number): number {
  let s = 0;
  for (let i = 0; i <= k; i++) {
    let c = 1;
    for (let j = 0; j < i; j++) c = (c * (n - j)) / (j + 1);
    s += c * p ** i * (1 - p) ** (n - i);
  }
  return s;
}

Deno.test("proposals: allowed exceedances are the largest k with P(Bin(n, f) ≤ k) ≤ 5 %", () => {
  for (const [n, f] of [[3000, 1e-3], [5000, 1e-3], [400, 0.05], [1000, 0.01], [100, 0.2]] as const) {
    const k = allowedExceedances(n, f);
    assert.ok(k >= 0, `${n} ${f}`);
    assert.ok(binomCdf(k, n, f) <= 0.05 + 1e-12, `P(≤${k}) for n=${n} f=${f}`);
    assert.ok(binomCdf(k + 1, n, f) > 0.05, `k=${k} is the largest for n=${n} f=${f}`);
  }
  // n·f < 3: even 0 exceedances happen with probability over 5 %: not settled.
  assert.equal(allowedExceedances(1000, 1e-3), -1);
  assert.equal(allowedExceedances(0, 1e-3), -1);
});

Deno.test("proposals: τ flags at most the allowed share of ordinary traffic, tighter targets give higher τ", () => {
  // 20,000 ordinary requests with logits over [−8, 2], a thin upper tail.
  const xs = Array.from({ length: 20_000 }, (_, i) => -8 + 10 * (i / 20_000) ** 6);
  const h = hist(xs);
  const p = propose(h, sigmoid(6));
  const [p2, p3, p4] = p.proposals;
  assert.ok(p2.tau < p3.tau && p3.tau <= p4.tau, JSON.stringify(p.proposals));
  for (const q of [p2, p3]) {
    const flagged = xs.filter((x) => sigmoid(x) >= q.tau).length / xs.length;
    assert.ok(flagged <= q.fpr, `fpr ${q.fpr}: flagged ${flagged}`);
    assert.ok(q.settled);
    assert.equal(q.needed, 0);
    assert.ok(Math.abs(q.expected_block_rate - flagged) < 1e-9);
  }
  // 1e-4 needs 30,000 requests: not settled; τ is above every request seen.
  assert.equal(p4.settled, false);
  assert.equal(p4.needed, 10_000);
  assert.ok(xs.every((x) => sigmoid(x) < p4.tau));
  assert.equal(p.contamination, 0);
});

Deno.test("proposals: mass at or above τ_max is contamination, never raises τ, and τ never exceeds τ_max", () => {
  const ordinary = Array.from({ length: 5000 }, (_, i) => -6 + (4 * i) / 5000); // up to logit −2
  const attacks = Array.from({ length: 500 }, () => 9); // above τ_max
  const tauMax = sigmoid(5);
  const clean = propose(hist(ordinary), tauMax);
  const dirty = propose(hist([...ordinary, ...attacks]), tauMax);
  assert.ok(Math.abs(dirty.contamination - 500 / 5500) < 1e-3);
  for (let i = 0; i < 3; i++) assert.equal(dirty.proposals[i].tau, clean.proposals[i].tau);
  // Attacks just under τ_max (evasive poisoning): τ rises, but to τ_max at most, and says so.
  const evasive = propose(hist([...ordinary, ...Array.from({ length: 500 }, () => 4.9)]), tauMax);
  for (const q of evasive.proposals) {
    assert.ok(q.tau <= tauMax);
  }
  assert.equal(evasive.proposals[1].limit, "canaries");
  assert.equal(evasive.proposals[1].tau, tauMax);
});

Deno.test("proposals: the floor holds τ at even odds for a site whose traffic all scores low", () => {
  const p = propose(hist(Array.from({ length: 10_000 }, () => -10)), sigmoid(6));
  for (const q of p.proposals) {
    assert.ok(q.tau >= 0.5 && q.tau < 0.51, String(q.tau));
    assert.equal(q.limit, "floor");
  }
  assert.ok(Math.abs(logit(p.proposals[0].tau)) < 0.2);
});
