// The eval and score CLIs on a tiny model and a tiny generated support/query pair: the JSON schema of the
// output that other tools rely on, and one JSON line per scored record.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DENSE_DIM, FEATURE_SPEC, featuresOfRecord, specId } from "@taugate/features/mod.ts";
import { readModelOnnx } from "@taugate/model/onnx/read.ts";
import { buildModelOnnx } from "@taugate/model/onnx/write.ts";
import { createTsEngineFromModel } from "@taugate/model/ts_engine.ts";
import { main as evalMain } from "../src/cli/eval.ts";
import { main as rotationsMain } from "../src/cli/rotations.ts";
import { DEFAULT_RUN } from "../src/config.ts";
import { toJsonl } from "../src/cli/records.ts";
import { headFromJson, main as scoreMain } from "../src/cli/score.ts";
import { auc } from "../src/eval/metrics.ts";
import { rowFeatures } from "../src/nn/features.ts";
import { train } from "../src/learn/meta.ts";
import { tinyConfig, tinyTasks, tinyTenant } from "./_tiny.ts";

const dir = mkdtempSync(join(tmpdir(), "taugate-cli-"));
const tasks = tinyTasks();
const t = train(tasks, tinyConfig({ updates: 60, decay: 0, seed: 3 }), true);
const Z = t.backbone.embedDim;
const meta = {
  modelId: "tiny",
  specId: specId(FEATURE_SPEC),
  dim: FEATURE_SPEC.dim,
  denseDim: tasks.set.denseDim,
  embedDim: Z,
  tau: 0.5,
  head: { w: Array.from(t.head.w), b: t.head.b },
  adapt: t.adapt,
};
const model = join(dir, "tiny.onnx");
writeFileSync(
  model,
  buildModelOnnx(t.backbone.toWeights(), t.head, meta, { quantize: "int8" }),
);
const site = tinyTenant("z", 99, 30);
const support = join(dir, "support.jsonl"),
  query = join(dir, "query.jsonl"),
  query2 = join(dir, "query2.jsonl");
writeFileSync(
  support,
  toJsonl([...site.benign.slice(0, 15), ...site.attacks.slice(0, 15)]),
);
writeFileSync(
  query,
  toJsonl([...site.benign.slice(15, 25), ...site.attacks.slice(15, 25)]) +
    "not json\n",
);
writeFileSync(
  query2,
  toJsonl([...site.benign.slice(25), ...site.attacks.slice(25)]),
);

const ROW_KEYS = [
  "auc",
  "auc_std",
  "episodes",
  "method",
  "precision_at_tau",
  "recall_at_tau",
  "shots",
  "tpr_at_fpr_1e-2",
  "tpr_at_fpr_1e-3",
];

test("eval CLI: writes {model, results[]} with every method and K, and the documented row fields", async () => {
  const out = join(dir, "out.json");
  const code = await evalMain([
    "--support",
    support,
    "--query",
    query,
    "--query",
    query2,
    "--shots",
    "0,2,5",
    "--episodes",
    "3",
    "--seed",
    "4",
    "--json",
    out,
    "--model",
    model,
    "--baseline",
    model,
    "--unlabeled",
    "5",
  ]);
  assert.equal(code, 0);
  const r = JSON.parse(readFileSync(out, "utf8"));
  assert.equal(typeof r.model, "object");
  assert.equal(r.model.modelId, "tiny");
  assert.ok(Array.isArray(r.results));
  for (const method of ["taugate", "erm-finetune", "scratch-logreg"]) {
    for (const k of [0, 2, 5]) {
      const row = r.results.find((x: { method: string; shots: number }) =>
        x.method === method && x.shots === k
      );
      assert.ok(row, `${method} K=${k}`);
      assert.deepEqual(Object.keys(row).sort(), ROW_KEYS);
      assert.equal(row.episodes, 3);
      for (const key of ROW_KEYS.filter((k) => k !== "method")) {
        assert.equal(typeof row[key], "number", key);
      }
      assert.ok(row.auc >= 0 && row.auc <= 1);
    }
  }
  // Injections and anomalies are reported separately (the tiny set has only injections).
  assert.ok(
    Array.isArray(r.subsets.injections) && Array.isArray(r.subsets.anomalies),
  );
  // shots 0 is the unadapted model: no randomness without unlabelled traffic, hence the same each episode.
  const k0 = r.results.find((x: { method: string; shots: number }) =>
    x.method === "scratch-logreg" && x.shots === 0
  );
  assert.equal(k0.auc, 0.5);
});

test("eval CLI: missing arguments and unknown options are usage errors", async () => {
  assert.equal(await evalMain(["--query", query]), 2);
  assert.equal(
    await evalMain(["--support", support, "--query", query, "--shot", "1"]),
    2,
  );
});

test("score CLI: one JSON line per record, a tenant head file changes the scores", async () => {
  const input = join(dir, "in.jsonl");
  writeFileSync(input, toJsonl(site.benign.slice(0, 3)) + '{"url": 1}\n');
  const capture = async (args: string[]) => {
    const chunks: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((
      s: string,
    ) => (chunks.push(String(s)), true)) as typeof process.stdout.write;
    try {
      assert.equal(await scoreMain(args), 0);
    } finally {
      process.stdout.write = write;
    }
    return chunks.join("").trim().split("\n").map((l) => JSON.parse(l));
  };
  const global = await capture(["--in", input, "--model", model]);
  assert.equal(global.length, 4);
  for (const g of global.slice(0, 3)) {
    assert.ok(g.score >= 0 && g.score <= 1);
    assert.ok(g.decision === "block" || g.decision === "allow");
    assert.equal(g.decision, g.score >= g.tau ? "block" : "allow");
  }
  assert.equal(global[3].line, 4);
  assert.ok(global[3].error);
  const headFile = join(dir, "head.json");
  writeFileSync(
    headFile,
    JSON.stringify({ head: { w: new Array(Z).fill(0), b: -5 }, tau: 0.9 }),
  );
  const tenant = await capture([
    "--in",
    input,
    "--model",
    model,
    "--head",
    headFile,
  ]);
  for (const x of tenant.slice(0, 3)) {
    assert.ok(Math.abs(x.score - 1 / (1 + Math.exp(5))) < 1e-6);
    assert.equal(x.tau, 0.9);
  }
  assert.throws(() => headFromJson({ w: [1], b: 0 }, Z), /head.w/);
  // A residual head (the shipped model's kind) scores with the request's own features, as the worker does.
  const rd = new Array(DENSE_DIM).fill(0);
  rd[0] = 3;
  writeFileSync(headFile, JSON.stringify({ head: { w: new Array(Z).fill(0), b: -5, rd }, tau: 0.9 }));
  const residual = await capture(["--in", input, "--model", model, "--head", headFile]);
  assert.ok(site.benign.slice(0, 3).some((r) => featuresOfRecord(r).dense[0] !== 0), "the residual has work");
  site.benign.slice(0, 3).forEach((r, i) => {
    const d0 = featuresOfRecord(r).dense[0];
    assert.ok(Math.abs(residual[i].score - 1 / (1 + Math.exp(5 - 3 * d0))) < 1e-6, `${residual[i].score}`);
  });
});

test("export: int8 quantisation of a trained model costs at most 0.002 AUC on its data", () => {
  const int8 = readModelOnnx(
    buildModelOnnx(t.backbone.toWeights(), t.head, meta, { quantize: "int8" }),
  );
  const f32 = readModelOnnx(
    buildModelOnnx(t.backbone.toWeights(), t.head, meta, { quantize: "none" }),
  );
  assert.equal(int8.quantized, true);
  const scores = (m: typeof int8) => {
    const e = createTsEngineFromModel(m);
    return Array.from(
      { length: tasks.set.n },
      (_, i) => e.scoreSync(rowFeatures(tasks.set, i)),
    );
  };
  const a8 = auc(scores(int8), tasks.set.label),
    a32 = auc(scores(f32), tasks.set.label);
  assert.ok(a32 - a8 <= 0.002, `float32 ${a32}, int8 ${a8}`);
});

test("rotations CLI: --print-config prints the run's configuration as --config reads it, and trains nothing", async () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: unknown) => void lines.push(String(s));
  let code: number;
  try {
    code = await rotationsMain(["--print-config"]);
  } finally {
    console.log = log;
  }
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(lines.join("\n")), JSON.parse(JSON.stringify(DEFAULT_RUN)));
  // A variant's file, read back: what it changes is what is printed.
  const dir = mkdtempSync(join(tmpdir(), "tg-rot-"));
  const variant = {
    ...DEFAULT_RUN,
    world: { ...DEFAULT_RUN.world, softAnomalies: ["tamper-method"], softTarget: 0.5 },
  };
  writeFileSync(join(dir, "c.json"), JSON.stringify(variant));
  lines.length = 0;
  console.log = (s: unknown) => void lines.push(String(s));
  try {
    code = await rotationsMain(["--config", join(dir, "c.json"), "--print-config"]);
  } finally {
    console.log = log;
  }
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(lines.join("\n")).world.softAnomalies, ["tamper-method"]);
});
