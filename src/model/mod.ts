/**
 * The model: its contract, its ONNX form, and the engines that run it.
 *
 * - `buildModelOnnx` / `readModelOnnx` write and read the int8 (or float32) ONNX file;
 * - `createTsEngine` runs it as a plain TypeScript forward pass, `createOrtEngine` with onnxruntime-web's
 *   WebAssembly; both give z (and the global head's score) for a request's features;
 * - `loadEngine` creates either after checking that the model was trained for this build's feature spec.
 *
 * The ORT engine needs its WebAssembly from a runtime adapter, imported directly by the runtime's entry (not
 * re-exported here, so that no runtime's code reaches another's bundle): `ort_deno.ts` (`denoOrtWasm()`, Deno
 * and Node) or `ort_workerd.ts` (`workerdOrtWasm(module)`, Cloudflare Workers).
 *
 * @example
 * ```ts
 * import { loadEngine } from "./mod.ts";
 * import { denoOrtWasm } from "./ort_deno.ts";
 * import { featuresOfRecord } from "../features/mod.ts";
 * const engine = await loadEngine("ort", await Deno.readFile("models/taugate.onnx"), await denoOrtWasm());
 * const { z, score } = await engine.embedAndScore(featuresOfRecord({ method: "GET", url: "/?q=1" }));
 * ```
 * @module
 */
import { FEATURE_SPEC, type FeatureSpec } from "../features/spec.ts";
import { readModelMeta } from "./onnx/read.ts";
import { createOrtEngine, type OrtWasmSource } from "./ort_engine.ts";
import { checkModelSpec } from "./spec_check.ts";
import { createTsEngine } from "./ts_engine.ts";
import type { ScoringEngine } from "./types.ts";

export type * from "./types.ts";
export { checkFeatures, checkModelParts } from "./check.ts";
export { dequantizeMatrix, type QuantizedMatrix, quantizeMatrix } from "./quantize.ts";
export { prng, randomModel, type RandomModelOptions, specShape } from "./random.ts";
export { buildModelOnnx, type BuildOptions } from "./onnx/write.ts";
export { ModelFormatError, type ReadModel, readModelMeta, readModelOnnx } from "./onnx/read.ts";
export { createTsEngine, createTsEngineFromModel, type TsEngine } from "./ts_engine.ts";
export {
  createOrtEngine,
  ORT_VERSION,
  type OrtEngine,
  type OrtWasmSource,
  SELF_TEST_TOLERANCE,
} from "./ort_engine.ts";
export { checkModelSpec, ModelSpecMismatchError } from "./spec_check.ts";
export type { FeatureCaps, FeatureSpec } from "../features/spec.ts";

/**
 * Creates an engine for a model after checking that it was trained for the feature spec in use.
 *
 * @param kind `ort` (onnxruntime-web) or `ts` (TypeScript forward pass).
 * @param modelBytes The ONNX file's bytes.
 * @param wasm The ORT engine's WebAssembly (required for `ort`, ignored for `ts`).
 * @param spec The feature spec the caller extracts with (default: the shipped one).
 * @returns The engine.
 * @throws {ModelSpecMismatchError} if the model was trained for another spec (both ids in the message).
 * @throws {ModelFormatError} if the bytes are not a taugate model.
 * @throws {TypeError} for an unknown kind, or `ort` without `wasm`.
 * @throws {Error} if the ORT engine fails to start or its self-test fails.
 */
export async function loadEngine(
  kind: "ort" | "ts",
  modelBytes: Uint8Array,
  wasm?: OrtWasmSource,
  spec: Readonly<FeatureSpec> = FEATURE_SPEC,
): Promise<ScoringEngine> {
  if (kind !== "ort" && kind !== "ts") {
    throw new TypeError(`loadEngine: kind must be "ort" or "ts", got ${kind}`);
  }
  if (kind === "ort" && !wasm) {
    throw new TypeError(
      "loadEngine: the ort engine needs its WebAssembly: denoOrtWasm() or workerdOrtWasm(module)",
    );
  }
  checkModelSpec(readModelMeta(modelBytes), spec);
  return kind === "ts" ? createTsEngine(modelBytes) : await createOrtEngine(modelBytes, wasm!);
}
