// Parity of the shipped model: onnxruntime-web (WASM) and training's TypeScript forward pass agree on the
// score of held-out requests within 1e-2, and int8 quantisation costs at most 0.002 AUC.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { featuresOfRecord } from "@taugate/features/mod.ts";
import { scoreWithHead } from "@taugate/heads/score.ts";
import { readModelOnnx } from "@taugate/model/onnx/read.ts";
import { denoOrtWasm } from "@taugate/model/ort_deno.ts";
import { createOrtEngine } from "@taugate/model/ort_engine.ts";
import { DEFAULT_DATA_DIR } from "../src/data/sources.ts";
import { auc } from "../src/eval/metrics.ts";
import { Backbone } from "../src/nn/backbone.ts";
import { featurise } from "../src/nn/features.ts";
import { heldOutTenant } from "../src/synth/world.ts";

const MODEL = new URL("../../models/taugate.onnx", import.meta.url);
const FLOAT = new URL("../../artifacts/taugate-f32.onnx", import.meta.url);
const ready = existsSync(MODEL) && existsSync(DEFAULT_DATA_DIR);

/** Training's forward pass and the global head, on the model's (dequantised) weights. */
function referenceScores(
  bytes: Uint8Array,
  records: Parameters<typeof featurise>[0],
): number[] {
  const m = readModelOnnx(bytes);
  const bb = Backbone.fromWeights(m.weights);
  const set = featurise(records);
  const z = bb.embedAll(set), Z = bb.embedDim;
  return Array.from(
    { length: set.n },
    (_, i) => scoreWithHead(m.head, z.subarray(i * Z, (i + 1) * Z)),
  );
}

const records = ready ? heldOutTenant(DEFAULT_DATA_DIR).query : [];

test(
  "parity: onnxruntime-web and the TypeScript forward pass agree within 1e-2 on ≥ 1,000 held-out requests",
  { skip: !ready },
  async () => {
    assert.ok(records.length >= 1000, `${records.length} held-out requests`);
    const bytes = new Uint8Array(readFileSync(MODEL));
    const engine = await createOrtEngine(bytes, await denoOrtWasm());
    const ref = referenceScores(bytes, records);
    let worst = 0;
    for (let i = 0; i < records.length; i++) {
      const { score } = await engine.embedAndScore(
        featuresOfRecord(records[i]),
      );
      worst = Math.max(worst, Math.abs(score - ref[i]));
    }
    assert.ok(worst <= 1e-2, `largest score difference ${worst}`);
  },
);

test(
  "parity: int8 quantisation costs at most 0.002 AUC on the held-out requests",
  {
    skip: !ready || !existsSync(FLOAT)
      ? "needs models/taugate.onnx and artifacts/taugate-f32.onnx (deno task train)"
      : false,
  },
  () => {
    const labels = records.map((r) => r.label ?? 0);
    const int8 = auc(
      referenceScores(new Uint8Array(readFileSync(MODEL)), records),
      labels,
    );
    const f32 = auc(
      referenceScores(new Uint8Array(readFileSync(FLOAT)), records),
      labels,
    );
    assert.ok(f32 - int8 <= 0.002, `float32 AUC ${f32}, int8 ${int8}`);
  },
);
