import assert from "node:assert/strict";
import {
  DENSE_DIM,
  FEATURE_SPEC,
  featuresOfRecord,
  type FeatureSpec,
  specId,
} from "../../src/features/mod.ts";
import {
  buildModelOnnx,
  checkModelSpec,
  loadEngine,
  type ModelParts,
  ModelSpecMismatchError,
  randomModel,
} from "../../src/model/mod.ts";
import { denoOrtWasm } from "../../src/model/ort_deno.ts";

const shipped = specId(FEATURE_SPEC);
const shape = {
  dim: FEATURE_SPEC.dim,
  denseDim: DENSE_DIM,
  hidden: 16,
  layers: [{ outDim: 8, activation: "tanh" as const }],
};
const bytesOf = (m: ModelParts) => buildModelOnnx(m.weights, m.head, m.meta, { quantize: "int8" });

Deno.test("spec check: a model for the shipped spec passes; another spec is refused naming both ids", () => {
  checkModelSpec(randomModel(1, { ...shape, specId: shipped }).meta);
  const other = randomModel(1, { ...shape, specId: "tgfs0-deadbeef", modelId: "old-model" });
  assert.throws(
    () => checkModelSpec(other.meta),
    (e: Error) =>
      e instanceof ModelSpecMismatchError && e.message.includes("tgfs0-deadbeef") &&
      e.message.includes(shipped) &&
      e.message.includes("old-model"),
  );
});

Deno.test("spec check: a caller's own spec is honoured (id and dimensions)", () => {
  const spec: FeatureSpec = { ...FEATURE_SPEC, dim: 1024, caps: { ...FEATURE_SPEC.caps } };
  const m = randomModel(1, { ...shape, dim: 1024, specId: specId(spec) });
  checkModelSpec(m.meta, spec);
  assert.throws(() => checkModelSpec(m.meta), /trained for feature spec/);
  // Same id but other dimensions: a broken card, refused too.
  const lying = randomModel(1, { ...shape, dim: 2048, specId: specId(spec) });
  assert.throws(() => checkModelSpec(lying.meta, spec), /D=2048/);
});

Deno.test("loadEngine: both kinds load a model of the shipped spec and agree", async () => {
  const bytes = bytesOf(randomModel(3, { ...shape, specId: shipped }));
  const ts = await loadEngine("ts", bytes);
  const ort = await loadEngine("ort", bytes, await denoOrtWasm());
  assert.equal(ts.kind, "ts");
  assert.equal(ort.kind, "ort");
  const f = featuresOfRecord({ method: "GET", url: "/search?q=%27%20or%201%3D1--" });
  const a = await ts.embedAndScore(f), b = await ort.embedAndScore(f);
  assert.ok(Math.abs(a.score - b.score) < 1e-5);
  assert.equal(ort.meta.specId, shipped);
});

Deno.test("loadEngine: refuses another spec, an unknown kind, and ort without its wasm", async () => {
  const other = bytesOf(randomModel(3, { ...shape, specId: "tgfs9-00000000" }));
  await assert.rejects(loadEngine("ts", other), ModelSpecMismatchError);
  await assert.rejects(loadEngine("ort", other, await denoOrtWasm()), /tgfs9-00000000/);
  const good = bytesOf(randomModel(3, { ...shape, specId: shipped }));
  await assert.rejects(loadEngine("ort", good), TypeError);
  await assert.rejects(loadEngine("gpu" as "ts", good), TypeError);
  await assert.rejects(loadEngine("ts", new Uint8Array(10)), /readModelOnnx/);
});

Deno.test("randomModel: deterministic for a seed, different across seeds, checked shapes", () => {
  const opts = { ...shape, specId: shipped };
  assert.deepEqual(randomModel(5, opts), randomModel(5, opts));
  assert.notDeepEqual(
    randomModel(5, opts).weights.W1.slice(0, 64),
    randomModel(6, opts).weights.W1.slice(0, 64),
  );
  const m = randomModel(5, { ...opts, layers: [] });
  assert.equal(m.meta.embedDim, 16);
  assert.deepEqual(m.meta.head.w, Array.from(m.head.w));
  assert.throws(() => randomModel(1, { ...opts, hidden: 0 }), /hidden/);
  assert.throws(() => randomModel(1, { ...opts, layers: [{ outDim: 2.5, activation: "relu" }] }), /outDim/);
});

Deno.test("ort_deno: a missing or non-wasm file gives a clear error", async () => {
  await assert.rejects(denoOrtWasm("/nonexistent/ort.wasm"), /not found/);
  const tmp = await Deno.makeTempFile({ suffix: ".wasm" });
  try {
    await Deno.writeTextFile(tmp, "not wasm");
    await assert.rejects(denoOrtWasm(tmp), /not a WebAssembly binary/);
  } finally {
    await Deno.remove(tmp);
  }
});
