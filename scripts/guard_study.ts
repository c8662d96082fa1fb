/**
 * How tenant heads behave at their τ, and what the guard decides, on the held-out tenants of the training
 * world (never meta-trained on), with the shipped model: for honest uploads (K benign + K attacks), benign-only
 * uploads ("these were my false positives") and mislabelled ones (K benign + K attacks labelled benign), the
 * τ the API gives the head (matched on the canaries), the false-positive and true-positive rates it then has
 * on the tenant's held-out requests, the same at the worker's τ, and the guard's verdict. A study, not a test.
 *
 * ```sh
 * tools/node_modules/.bin/deno run -A scripts/guard_study.ts [--model models/taugate.onnx] [--data ../shared/data]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { candidateHead } from "../src/api/candidate.ts";
import { adaptConfigOf, canaryEmbeddings } from "../src/api/model.ts";
import { featuresOfRecord } from "../src/features/mod.ts";
import { scoreWithHead } from "../src/heads/score.ts";
import { createTsEngine } from "../src/model/mod.ts";
import type { RequestRecord } from "../src/record/record.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { model: { type: "string" }, data: { type: "string" }, seed: { type: "string", default: "3" } },
});
const root = new URL("../", import.meta.url);
const engine = createTsEngine(
  await Deno.readFile(values.model ?? new URL("models/taugate.onnx", root).pathname),
);
const dataDir = values.data ?? new URL("../shared/data", root).pathname;
// The training package is Node code; imported at run time (it is type-checked by its own tests).
const W = await import(new URL("train/src/synth/world.ts", root).href);
const S = await import(new URL("train/src/data/sources.ts", root).href);
const world = W.buildWorld(S.loadSources(dataDir), 1) as {
  eval: { tenant: { id: string }; support: RequestRecord[]; query: RequestRecord[] }[];
};

const config = adaptConfigOf(engine.meta);
const canaries = await canaryEmbeddings(engine);
const globalTau = engine.meta.tau;
const emb = (r: RequestRecord) => engine.embedSync(featuresOfRecord(r)).slice();
const rate = (xs: number[], t: number) => xs.filter((x) => x >= t).length / xs.length;
const f = (x: number) => x.toFixed(3);
let s = Number(values.seed);
const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
const pick = <T>(xs: T[], n: number): T[] => {
  const a = [...xs];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rnd() * (a.length - i));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, n);
};
const label = (rs: RequestRecord[], l: 0 | 1) => rs.map((r) => ({ ...r, label: l }));

console.log(
  `model ${engine.meta.modelId}, worker τ ${globalTau}, ${canaries.length} canaries; rates on held-out requests`,
);
const verdicts: Record<string, number[]> = {};
for (const ev of world.eval) {
  const sb = ev.support.filter((r) => r.label === 0), sa = ev.support.filter((r) => r.label === 1);
  const qb = pick(ev.query.filter((r) => r.label === 0), 1500).map(emb);
  const qa = pick(ev.query.filter((r) => r.label === 1), 500).map(emb);
  const g = (zs: Float32Array[]) => zs.map((z) => scoreWithHead(engine.head, z));
  console.log(
    `${ev.tenant.id}: global head at the worker's τ: FPR ${f(rate(g(qb), globalTau))} TPR ${
      f(rate(g(qa), globalTau))
    }`,
  );
  const uploads: [string, RequestRecord[]][] = [
    ["honest K=10", [...label(pick(sb, 10), 0), ...label(pick(sa, 10), 1)]],
    ["honest K=50", [...label(pick(sb, 50), 0), ...label(pick(sa, 50), 1)]],
    ["benign-only 20", label(pick(sb, 20), 0)],
    ["benign-only 50", label(pick(sb, 50), 0)],
    ["mislabelled 25+25", label([...pick(sb, 25), ...pick(sa, 25)], 0)],
  ];
  for (const [name, records] of uploads) {
    const c = await candidateHead({
      engine,
      globalHead: engine.head,
      globalTau,
      config,
      canaries,
      records,
      margin: 0.05,
      force: false,
    });
    const b = qb.map((z) => scoreWithHead(c.fit.head, z)), a = qa.map((z) => scoreWithHead(c.fit.head, z));
    (verdicts[name] ??= []).push(c.guard.passed ? 1 : 0);
    console.log(
      `  ${name.padEnd(18)} τ ${c.tau.toFixed(4)}: FPR ${f(rate(b, c.tau))} TPR ${
        f(rate(a, c.tau))
      } | at the worker's τ: ` +
        `FPR ${f(rate(b, globalTau))} TPR ${f(rate(a, globalTau))} | guard ${
          c.guard.passed ? "pass" : "REFUSE"
        } ` +
        `(upload's benign flagged ${f(c.guard.benign.global)} → ${f(c.guard.benign.tenant)})`,
    );
  }
}
for (const [name, v] of Object.entries(verdicts)) {
  console.log(`${name}: the guard passed ${v.reduce((x, y) => x + y, 0)} of ${v.length} tenants`);
}
