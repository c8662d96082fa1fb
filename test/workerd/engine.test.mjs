// The ORT engine on workerd: a tiny worker (ort_workerd.ts, the .wasm as a CompiledWasm module) embeds
// realistic requests, and its z and score must equal the TypeScript engine's, computed here under Node.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { bundleForNode, bundleWorker, ROOT, startMiniflare } from "./_helpers.mjs";

const WORKER = `
import ortWasm from "onnxruntime-web/ort-wasm-simd-threaded.wasm";
import { createOrtEngine } from "./src/model/ort_engine.ts";
import { workerdOrtWasm } from "./src/model/ort_workerd.ts";

let engine;
const error = (e) => Response.json({ error: e.name + ": " + e.message }, { status: e instanceof RangeError ? 400 : 500 });

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    try {
      if (pathname === "/load") {
        engine = await createOrtEngine(new Uint8Array(await request.arrayBuffer()), workerdOrtWasm(ortWasm));
        return Response.json({ modelId: engine.meta.modelId, selfTestError: engine.selfTestError });
      }
      if (pathname === "/embed") {
        const out = [];
        for (const f of await request.json()) {
          const features = { indices: Int32Array.from(f.indices), values: Float32Array.from(f.values), dense: Float32Array.from(f.dense) };
          const { z, score } = await engine.embedAndScore(features);
          out.push({ z: Array.from(z), score });
        }
        return Response.json(out);
      }
      return new Response("not found", { status: 404 });
    } catch (e) {
      return error(e);
    }
  },
};
`;

let mf, ref, bytes, vectors;

before(async () => {
  ref = await bundleForNode(`
    export { randomModel } from "./src/model/random.ts";
    export { buildModelOnnx } from "./src/model/onnx/write.ts";
    export { createTsEngine } from "./src/model/ts_engine.ts";
    export { DENSE_DIM, FEATURE_SPEC, featuresOfRecord, specId } from "./src/features/mod.ts";
    export { syntheticRecords } from "./test/model/_requests.ts";
  `);
  const m = ref.randomModel(21, {
    dim: ref.FEATURE_SPEC.dim,
    denseDim: ref.DENSE_DIM,
    hidden: 32,
    layers: [{ outDim: 16, activation: "tanh" }],
    specId: ref.specId(ref.FEATURE_SPEC),
  });
  bytes = ref.buildModelOnnx(m.weights, m.head, m.meta, { quantize: "int8" });
  const fixtures = readFileSync(`${ROOT}test/fixtures/requests.jsonl`, "utf8").split("\n").filter((l) => l)
    .map((l) => JSON.parse(l));
  vectors = [...fixtures, ...ref.syntheticRecords(160, 7)].map((r) => ref.featuresOfRecord(r));
  const { modules } = await bundleWorker({ contents: WORKER });
  mf = await startMiniflare({ modules });
});

after(async () => {
  await mf?.dispose();
});

const post = (path, body) => mf.dispatchFetch(`http://worker${path}`, { method: "POST", body });
const wire = (f) => ({
  indices: Array.from(f.indices),
  values: Array.from(f.values),
  dense: Array.from(f.dense),
});

test("workerd: the ORT engine starts from the precompiled wasm and passes its self-test", async () => {
  const res = await post("/load", bytes);
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.modelId, "random-21");
  assert.ok(body.selfTestError <= 1e-6, `self-test error ${body.selfTestError}`);
});

test("workerd: z and score equal the TypeScript engine's within 1e-6 on realistic requests", async () => {
  const ts = ref.createTsEngine(bytes);
  const res = await post("/embed", JSON.stringify(vectors.map(wire)));
  const got = await res.json();
  assert.equal(res.status, 200, JSON.stringify(got));
  assert.equal(got.length, vectors.length);
  let maxZ = 0, maxScore = 0;
  for (const [i, f] of vectors.entries()) {
    const z = ts.embedSync(f);
    assert.equal(got[i].z.length, z.length);
    for (let j = 0; j < z.length; j++) maxZ = Math.max(maxZ, Math.abs(got[i].z[j] - z[j]));
    maxScore = Math.max(maxScore, Math.abs(got[i].score - ts.scoreSync(f)));
  }
  assert.ok(maxZ <= 1e-6, `max |Δz| ${maxZ}`);
  assert.ok(maxScore <= 1e-6, `max |Δscore| ${maxScore}`);
});

test("workerd: malformed features get a clear RangeError, and the engine keeps working", async () => {
  const f = wire(vectors[0]);
  const bad = await post(
    "/embed",
    JSON.stringify([{ ...f, indices: [ref.FEATURE_SPEC.dim, ...f.indices.slice(1)] }]),
  );
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /RangeError: features: index 8192 at 0 is outside \[0, 8192\)/);
  const ok = await post("/embed", JSON.stringify([f]));
  assert.equal(ok.status, 200);
});
