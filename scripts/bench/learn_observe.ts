/**
 * Learning mode's per-request step alone: `Learner.observe` on the bench's request mix (16 tenants, 1,024
 * client addresses, the structure tokens of each request), three timed passes of 400,000 calls.
 *
 * ```sh
 * deno run -A scripts/bench/learn_observe.ts
 * ```
 *
 * @module
 */
import { featuresOfRecord } from "../../src/features/mod.ts";
import { NOVELTY_DIM } from "../../src/heads/site_profile.ts";
import { Learner } from "../../src/learn/learner.ts";
import { typicalMix } from "./mix.ts";

const mix = typicalMix(2000);
const structures = mix.map((m) =>
  featuresOfRecord({
    method: m.method,
    url: m.target,
    headers: Object.fromEntries(m.headers),
    body: typeof m.body === "string" ? m.body : "",
  }).structure
);
const tokens = structures.reduce((a, s) => a + s.length, 0) / structures.length;
const learner = new Learner();
const term = { a: new Float32Array(NOVELTY_DIM).fill(0.1), profile: null, weight: 1 };
const N = 400_000;
for (let pass = 0; pass < 3; pass++) {
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    const s = structures[i % structures.length];
    learner.observe(`t${i % 16}.test`, null, {
      logit: -3 + (i % 7),
      flagged: false,
      structure: s,
      nStructure: s.length,
      client: i & 1023,
    }, term);
  }
  console.log(
    `${((performance.now() - t) * 1000 / N).toFixed(3)} µs per observe (${
      tokens.toFixed(1)
    } tokens a request)`,
  );
}
