/**
 * How long a correction takes to fit: an upload of benign requests only with τ known, as the tenant API fits
 * it (`adaptHead` with the model's `meta.adapt`, its canaries as anchors, four attack copies per request as
 * contrasts). `deno task bench` times two-class heads (K = 10 and 50 a class); this times the other common
 * upload. A measurement, not a test: read medians.
 *
 * ```sh
 * tools/node_modules/.bin/deno run -A scripts/correction_timing.ts [--records upload.jsonl] [--runs 40] [--tau T]
 * ```
 *
 * `--records`: the requests to upload (JSONL; at most the first 50 not labelled 1), for example a site's
 * false positives as `node train/bin/run.mjs sitefp --emit DIR` writes them (`DIR/<site>/upload.jsonl`).
 * Default: the benign requests of `test/fixtures/requests.jsonl`. `--tau`: the τ the correction brings them
 * under (default: the model's; `sitefp --emit` writes each site's in `DIR/<site>/tau.json`). Prints the median and the 10th percentile of
 * `adaptHead`'s wall time (synchronous work, `performance.now()`), and what scoring a request with the
 * correction's head costs (`logitWithHead` after the embedding, over the upload and its contrasts) with its
 * support gate and shape (`HeadParams.rs`, `rp`), with the gate alone and without either, taking turns in
 * rounds: the median per request.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { adaptConfigOf, canarySet } from "../src/api/model.ts";
import { featuresOfRecord } from "../src/features/mod.ts";
import { adaptHead, type Anchor, type HeadExample } from "../src/heads/adapt.ts";
import { contrastRecords } from "../src/heads/contrast.ts";
import { logitWithHead } from "../src/heads/score.ts";
import { createTsEngine } from "../src/model/mod.ts";
import type { RequestRecord } from "../src/record/record.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    records: { type: "string", default: "test/fixtures/requests.jsonl" },
    model: { type: "string", default: "models/taugate.onnx" },
    runs: { type: "string", default: "40" },
    tau: { type: "string" },
  },
});
const engine = createTsEngine(await Deno.readFile(args.model!));
const config = adaptConfigOf(engine.meta);
const records = (await Deno.readTextFile(args.records!)).split("\n").filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l) as RequestRecord).filter((r) => r.label !== 1).slice(0, 50);
const embedded = (r: RequestRecord) => {
  const f = featuresOfRecord(r);
  return { z: engine.embedSync(f).slice(), f };
};
const examples: HeadExample[] = records.map((r) => {
  const { z, f } = embedded(r);
  return { z, label: 0, structure: f.structure, features: f };
});
const contrasts: Anchor[] = contrastRecords(records).map((r) => {
  const { z, f } = embedded(r);
  return { z, features: f };
});
// The canaries as the tenant API reads them: the anchors of its fits.
const canaries = await canarySet(engine);
const anchors: Anchor[] = canaries.features === null
  ? []
  : canaries.z.map((z, i) => ({ z, features: canaries.features![i] }));
const runs = Math.max(5, Number(args.runs));
const tau = args.tau === undefined ? engine.meta.tau : Number(args.tau);
if (!(tau > 0 && tau < 1)) throw new Error(`--tau: ${args.tau} is not in (0, 1)`);
const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  adaptHead(engine.head, examples, config, { anchors, tau, contrasts });
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const at = (q: number) => times[Math.min(runs - 1, Math.floor(q * runs))].toFixed(2);
console.log(
  `correction of ${examples.length} requests under τ ${tau} (${contrasts.length} contrasts, ${anchors.length} canaries): ` +
    `adaptHead median ${at(0.5)} ms, p10 ${at(0.1)} ms over ${runs} runs`,
);

// Scoring under the correction, with its support gate and shape, with the gate alone, and without either, in
// rounds that take turns.
const { head } = adaptHead(engine.head, examples, config, { anchors, tau, contrasts });
const unshaped = { ...head, rp: undefined };
const open = { ...head, rs: undefined, rg: undefined, rp: undefined };
const rows = [
  ...examples.map((e) => ({ z: e.z, f: e.features! })),
  ...contrasts.map((c) => ({ z: c.z, f: c.features })),
];
const per = { gated: [] as number[], unshaped: [] as number[], open: [] as number[] };
let sink = 0;
const REPS = 2000;
for (let round = 0; round < 2 * runs; round++) {
  for (
    const [name, h] of (round % 2 === 0
      ? [["gated", head], ["unshaped", unshaped], ["open", open]]
      : [["open", open], ["unshaped", unshaped], ["gated", head]]) as [
        keyof typeof per,
        typeof head,
      ][]
  ) {
    const t0 = performance.now();
    for (let k = 0; k < REPS; k++) {
      const r = rows[k % rows.length];
      sink += logitWithHead(h, r.z, undefined, undefined, r.f); // a correction of benign requests only has no site profile
    }
    per[name].push((performance.now() - t0) * 1e6 / REPS);
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(0);
console.log(
  `scoring with the correction's head (after the embedding; ${
    head.rs ? "gated" : "no gate in this model's settings"
  }): ` +
    `median ${med(per.gated)} ns a request with its support gate and shape (${
      head.rp ? head.rp.length / 3 : 0
    } entries), ${med(per.unshaped)} ns with the gate alone, ${med(per.open)} ns without either ` +
    `(${2 * runs} rounds of ${REPS}; checksum ${Number.isFinite(sink) ? "ok" : "NaN"})`,
);
