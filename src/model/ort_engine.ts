/**
 * The ORT engine: onnxruntime-web's WebAssembly backend (SIMD, one thread) running the ONNX model.
 *
 * Pinned to onnxruntime-web 1.30.0: the session option that folds `DequantizeLinear` of initialisers at load
 * (`session.disable_quant_qdq`) and the way the runtime receives its wasm binary (`env.wasm.wasmBinary`, used
 * by the workerd adapter) were checked against that version. Every engine checks itself at creation against
 * the TypeScript forward pass of the same bytes, so a runtime that computes something else fails loudly.
 *
 * Runtime-specific code (where the wasm binary comes from) lives in `ort_deno.ts` and `ort_workerd.ts`.
 *
 * @module
 */
import * as ort from "onnxruntime-web/wasm";
import { checkFeatures } from "./check.ts";
import { createTsEngineFromModel, type TsEngine } from "./ts_engine.ts";
import { readModelOnnx } from "./onnx/read.ts";
import { IN_DENSE, IN_INDICES, IN_VALUES, IR_VERSION, OPSET, OUT_SCORE, OUT_Z } from "./onnx/_graph.ts";
import { DataType, encodeModel } from "./onnx/proto.ts";
import type { HeadParams, ModelMeta, ScoringEngine, SparseFeatures } from "./types.ts";

/** The onnxruntime-web version whose behaviour this engine and its adapters rely on. */
export const ORT_VERSION = "1.30.0";

/** Largest difference allowed between ORT and the TypeScript forward pass in the creation self-test. */
export const SELF_TEST_TOLERANCE = 1e-4;

/** Where onnxruntime-web's WebAssembly comes from; made by `ort_deno.ts` or `ort_workerd.ts`. */
export interface OrtWasmSource {
  /** For errors: `deno`, `node`, `workerd`, ... */
  readonly runtime: string;
  /** Given to `env.wasm.wasmBinary`: the wasm bytes, or a sentinel the adapter's hook recognises. */
  readonly wasmBinary: ArrayBuffer | Uint8Array;
  /**
   * Runs just before onnxruntime-web initialises its WebAssembly (once per isolate); returns the undo,
   * run once initialisation is over (e.g. install and remove a `WebAssembly.instantiate` hook).
   */
  readonly beforeInit?: () => () => void;
}

/** The ORT engine. */
export interface OrtEngine extends ScoringEngine {
  /** Always `ort`. */
  readonly kind: "ort";
  /** The largest |ORT − TS| over z and the score measured by the creation self-test. */
  readonly selfTestError: number;
}

// One WebAssembly runtime per isolate: onnxruntime-web reads `env.wasm` only before its first session.
let runtimeReady: Promise<void> | undefined;
let runtimeSource: string | undefined;

function initRuntime(wasm: OrtWasmSource): Promise<void> {
  if (runtimeReady) return runtimeReady;
  if (ort.env.versions?.web !== ORT_VERSION) {
    throw new Error(
      `ort engine: onnxruntime-web ${ort.env.versions?.web} is loaded but the engine is pinned to ${ORT_VERSION}`,
    );
  }
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmBinary = wasm.wasmBinary;
  runtimeSource = wasm.runtime;
  return runtimeReady = (async () => {
    const undo = wasm.beforeInit?.();
    try {
      // The runtime initialises with the first session; a one-node model keeps that cheap and separate.
      const probe = await ort.InferenceSession.create(PROBE_MODEL, { executionProviders: ["wasm"] });
      await probe.release();
    } catch (e) {
      runtimeReady = undefined;
      throw new Error(
        `ort engine: onnxruntime-web failed to start on ${wasm.runtime}: ${(e as Error).message ?? e}`,
      );
    } finally {
      undo?.();
    }
  })();
}

// A one-node model (Identity of a float32 [1]) that starts the runtime.
const PROBE_MODEL = /* @__PURE__ */ (() => {
  const x = { elemType: DataType.FLOAT, shape: [1] };
  return encodeModel({
    irVersion: IR_VERSION,
    opsetImports: [{ domain: "", version: OPSET }],
    producerName: "taugate",
    producerVersion: "1",
    graph: {
      name: "probe",
      nodes: [{ name: "identity", opType: "Identity", inputs: ["x"], outputs: ["y"], attributes: [] }],
      initializers: [],
      inputs: [{ name: "x", ...x }],
      outputs: [{ name: "y", ...x }],
    },
    metadataProps: [],
  });
})();

/** The fixed input of the self-test: indices spread over [0, D), values of both signs, a dense ramp. */
function selfTestInput(meta: ModelMeta): SparseFeatures {
  const n = Math.min(24, meta.dim);
  const indices = new Int32Array(n), values = new Float32Array(n), dense = new Float32Array(meta.denseDim);
  for (let k = 0; k < n; k++) {
    indices[k] = Math.floor((k * meta.dim) / n) + (k % 3);
    if (indices[k] >= meta.dim) indices[k] = meta.dim - 1;
    values[k] = (k % 2 ? -1 : 1) * (0.1 + 0.05 * (k % 7));
  }
  for (let i = 0; i < dense.length; i++) dense[i] = (i % 5) / 4;
  return { indices, values, dense };
}

// Engines by the bytes they were made from: the same model bytes give the same engine (one session).
const engines = new WeakMap<ArrayBufferLike, Map<string, Promise<OrtEngine>>>();

/**
 * Creates the ORT engine of an ONNX model, or returns the one already made from the same bytes (the same
 * range of the same buffer) in this isolate: one session per model, shared by every caller. The first call
 * in an isolate also starts onnxruntime-web's WebAssembly runtime from `wasm`; later calls reuse it (and
 * ignore their `wasm`). A creation that fails is forgotten, so a later call tries again.
 *
 * @param modelBytes The ONNX file's bytes (as `buildModelOnnx` writes them).
 * @param wasm Where the runtime's WebAssembly comes from (`denoOrtWasm()` or `workerdOrtWasm(module)`).
 * @returns The engine, after its self-test passed.
 * @throws {ModelFormatError} if the bytes are not a taugate model.
 * @throws {Error} if onnxruntime-web is not 1.30.0, fails to start or to load the model, or its output differs
 *   from the TypeScript forward pass by more than `SELF_TEST_TOLERANCE`.
 * @example
 * ```ts
 * import { createOrtEngine } from "./ort_engine.ts";
 * import { denoOrtWasm } from "./ort_deno.ts";
 * const engine = await createOrtEngine(await Deno.readFile("models/taugate.onnx"), await denoOrtWasm());
 * const z = await engine.embed({ indices: new Int32Array([1]), values: new Float32Array([1]), dense: new Float32Array(engine.meta.denseDim) });
 * ```
 */
export function createOrtEngine(modelBytes: Uint8Array, wasm: OrtWasmSource): Promise<OrtEngine> {
  if (!(modelBytes instanceof Uint8Array)) return newOrtEngine(modelBytes, wasm); // refused there, clearly
  let byRange = engines.get(modelBytes.buffer);
  if (!byRange) engines.set(modelBytes.buffer, byRange = new Map());
  const key = `${modelBytes.byteOffset}:${modelBytes.byteLength}`;
  let engine = byRange.get(key);
  if (!engine) {
    engine = newOrtEngine(modelBytes, wasm);
    byRange.set(key, engine);
    engine.catch(() => byRange.delete(key));
  }
  return engine;
}

async function newOrtEngine(modelBytes: Uint8Array, wasm: OrtWasmSource): Promise<OrtEngine> {
  const model = readModelOnnx(modelBytes);
  const reference: TsEngine = createTsEngineFromModel(model);
  const { meta } = model;
  const D = meta.dim, Dd = meta.denseDim, Z = meta.embedDim;
  await initRuntime(wasm);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelBytes, {
      executionProviders: ["wasm"],
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
      // Folds DequantizeLinear of int8 initialisers once at load (else it runs on every call). ORT mutates
      // `extra`, so each session gets a fresh object.
      extra: { session: { disable_quant_qdq: "1" } },
    });
  } catch (e) {
    throw new Error(
      `ort engine: onnxruntime-web could not load model ${meta.modelId}: ${(e as Error).message ?? e}`,
    );
  }

  // One run at a time: calls queue behind each other rather than interleave inside the session.
  let busy = false;
  const waiting: (() => void)[] = [];
  const oneIndex = new ort.Tensor("int32", new Int32Array(1), [1]);
  const zeroValue = new ort.Tensor("float32", new Float32Array(1), [1, 1]);

  const run = async (f: SparseFeatures): Promise<{ z: Float32Array; score: number }> => {
    const nnz = checkFeatures(f, D, Dd);
    if (busy) await new Promise<void>((resolve) => waiting.push(resolve));
    busy = true;
    try {
      // The graph needs N ≥ 1: an empty request is the single entry (0, 0), which adds nothing.
      const feeds = {
        [IN_INDICES]: nnz ? new ort.Tensor("int32", f.indices.subarray(0, nnz), [nnz]) : oneIndex,
        [IN_VALUES]: nnz ? new ort.Tensor("float32", f.values.subarray(0, nnz), [1, nnz]) : zeroValue,
        [IN_DENSE]: new ort.Tensor("float32", f.dense, [1, Dd]),
      };
      const out = await session.run(feeds);
      const z = out[OUT_Z].data as Float32Array, score = (out[OUT_SCORE].data as Float32Array)[0];
      if (z.length !== Z) throw new Error(`ort engine: z has ${z.length} values, the card says ${Z}`);
      return { z, score };
    } finally {
      const next = waiting.shift();
      if (next) next();
      else busy = false;
    }
  };

  // The self-test: the same input through both engines.
  const input = selfTestInput(meta);
  const got = await run(input);
  const want = reference.embedSync(input);
  let err = Math.abs(got.score - reference.scoreSync(input));
  for (let j = 0; j < Z; j++) err = Math.max(err, Math.abs(got.z[j] - want[j]));
  if (!(err <= SELF_TEST_TOLERANCE)) {
    await session.release();
    throw new Error(
      `ort engine: self-test failed on ${runtimeSource}: onnxruntime-web and the TypeScript forward pass differ ` +
        `by ${err} (> ${SELF_TEST_TOLERANCE}) for model ${meta.modelId}; the WebAssembly runtime is not computing ` +
        `this model correctly (is onnxruntime-web ${ORT_VERSION} installed, and the wasm its own?)`,
    );
  }

  const head: HeadParams = reference.head;
  return {
    kind: "ort",
    meta,
    head,
    selfTestError: err,
    embed: async (f) => (await run(f)).z,
    embedAndScore: run,
  };
}
