/**
 * Times the two engines on Deno: per-call `embed` latency on realistic requests (the 42 fixtures and
 * synthetic records) and the ORT engine's cold start (import, runtime start, session, first embed) in fresh
 * processes. A measurement, not a test: figures are noisy on a shared machine, compare ratios of one run.
 *
 * ```sh
 * tools/node_modules/.bin/deno run -A scripts/engine_timing.ts [--calls 20000] [--cold 5] [--hidden 32] [--z 16]
 * ```
 *
 * @module
 */
import { DENSE_DIM, FEATURE_SPEC } from "../src/features/mod.ts";
import { buildModelOnnx } from "../src/model/onnx/write.ts";
import { randomModel, specShape } from "../src/model/random.ts";
import type { Engine } from "../src/model/types.ts";
import { realisticFeatures } from "../test/model/_requests.ts";

const args = Deno.args;
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const CALLS = opt("calls", 20000), COLD = opt("cold", 5), H = opt("hidden", 32), Z = opt("z", 16);

function modelBytes(quantize: "int8" | "none", seed = 1): Uint8Array {
  const m = randomModel(seed, {
    ...specShape(),
    hidden: H,
    layers: [{ outDim: Z, activation: "tanh" }],
  });
  return buildModelOnnx(m.weights, m.head, m.meta, { quantize });
}

// The engines are imported dynamically so that a child process can time their import.

// --- child mode: one cold start, printed as JSON ------------------------------------------------------
if (args.includes("--child")) {
  const t0 = performance.now();
  const bytes = modelBytes("int8");
  const f = realisticFeatures(42)[0];
  const t1 = performance.now();
  const { createOrtEngine } = await import("../src/model/ort_engine.ts");
  const { denoOrtWasm } = await import("../src/model/ort_deno.ts");
  const t2 = performance.now();
  const wasm = await denoOrtWasm();
  const engine = await createOrtEngine(bytes, wasm);
  const t3 = performance.now();
  await engine.embed(f);
  const t4 = performance.now();
  console.log(
    JSON.stringify({ setup: t1 - t0, import: t2 - t1, engine: t3 - t2, firstEmbed: t4 - t3, total: t4 - t1 }),
  );
  Deno.exit(0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;

async function perCall(
  name: string,
  engine: Engine,
  features: ReturnType<typeof realisticFeatures>,
  calls = CALLS,
) {
  for (let i = 0; i < Math.min(2000, calls); i++) await engine.embed(features[i % features.length]); // warm up the JIT
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await engine.embed(features[i % features.length]);
    times.push(performance.now() - t);
  }
  const mean = (performance.now() - start) / calls;
  console.log(
    `${name.padEnd(22)} p50 ${us(median(times)).padStart(9)}  p90 ${us(pct(times, 0.9)).padStart(9)}  ` +
      `p99 ${us(pct(times, 0.99)).padStart(9)}  mean ${us(mean).padStart(9)}`,
  );
}

const features = realisticFeatures(1000);
const nnz = features.map((f) => f.indices.length);
console.log(
  `deno ${Deno.version.deno}, D=${FEATURE_SPEC.dim}, Dd=${DENSE_DIM}, H1=${H}, Z=${Z}; ${features.length} requests, ` +
    `nnz p50 ${median(nnz)} (max ${Math.max(...nnz)}); ${CALLS} calls each`,
);
const int8 = modelBytes("int8"), float = modelBytes("none");
console.log(`model size: int8 ${int8.length} B, float32 ${float.length} B`);
const { createOrtEngine } = await import("../src/model/ort_engine.ts");
const { denoOrtWasm } = await import("../src/model/ort_deno.ts");
const { createTsEngine } = await import("../src/model/ts_engine.ts");
const wasm = await denoOrtWasm();
await perCall("ts engine (int8)", createTsEngine(int8), features);
await perCall("ort engine (int8)", await createOrtEngine(int8, wasm), features);
await perCall("ort engine (float32)", await createOrtEngine(float, wasm), features);
{
  // The same int8 model in a session without `disable_quant_qdq`: DequantizeLinear then runs on every call.
  const ort = await import("onnxruntime-web/wasm");
  const session = await ort.InferenceSession.create(int8, {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
  });
  const unfolded: Engine = {
    kind: "ort",
    meta: {} as Engine["meta"],
    embed: async (f) => {
      const n = f.indices.length;
      const out = await session.run({
        indices: new ort.Tensor("int32", f.indices, [n]),
        values: new ort.Tensor("float32", f.values, [1, n]),
        dense: new ort.Tensor("float32", f.dense, [1, f.dense.length]),
      });
      return out.z.data as Float32Array;
    },
  };
  await perCall("ort int8, QDQ unfolded", unfolded, features.slice(0, 200), CALLS / 10);
}

// int8 against float32: the score difference on the same requests, for a few random models.
const high = features.map((f) => Math.hypot(...f.values) > 10);
for (let seed = 1; seed <= 5; seed++) {
  const a = createTsEngine(modelBytes("int8", seed)), b = createTsEngine(modelBytes("none", seed));
  const d = features.map((f) => Math.abs(a.scoreSync(f) - b.scoreSync(f)));
  const typical = d.filter((_, i) => !high[i]);
  console.log(
    `int8 vs float32, model seed ${seed}: |Δscore| p50 ${median(typical).toFixed(4)}, p99 ${
      pct(typical, 0.99).toFixed(4)
    }, max ${Math.max(...typical).toFixed(4)}; on the ${
      high.filter((h) => h).length
    } request(s) with ‖values‖ > 10: ` +
      `max ${Math.max(0, ...d.filter((_, i) => high[i])).toFixed(4)}`,
  );
}

if (COLD > 0) {
  const runs: Record<string, number>[] = [];
  for (let i = 0; i < COLD; i++) {
    const t = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(import.meta.url).pathname, "--child"],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const wall = performance.now() - t;
    if (!out.success) throw new Error("cold-start child failed");
    runs.push({ ...JSON.parse(new TextDecoder().decode(out.stdout)), wall });
  }
  const ms = (k: string) => `${median(runs.map((r) => r[k])).toFixed(0)} ms`;
  console.log(
    `ort cold start (median of ${COLD} processes): import ${ms("import")}, runtime + session + self-test ` +
      `${ms("engine")}, first embed ${ms("firstEmbed")}; import→first embed ${ms("total")}; process wall ${
        ms("wall")
      }`,
  );
}
