/**
 * The model the benchmark runs: the shipped `models/taugate.onnx` when it exists, else a random int8 model
 * of the shape training ships (D and Dd from the feature spec, 32 → 32 tanh), written to a temporary file.
 *
 * @module
 */
import { join } from "node:path";
import type { AdaptConfig } from "../../src/heads/adapt.ts";
import { adaptConfigOf } from "../../src/api/model.ts";
import { buildModelOnnx, randomModel, readModelMeta, specShape } from "../../src/model/mod.ts";
import type { ModelMeta } from "../../src/model/types.ts";

/** The repository's root (with a trailing slash). */
export const ROOT = new URL("../../", import.meta.url).pathname;

/** The model in use. */
export interface BenchModel {
  /** A file with the model (the shipped one, or a temporary copy of the random one). */
  path: string;
  bytes: Uint8Array;
  meta: ModelMeta;
  /** `shipped` or `random`. */
  source: "shipped" | "random";
  /** The adaptation settings: the card's `meta.adapt`, or the default below when the card has none. */
  adapt: AdaptConfig;
  adaptSource: "meta.adapt" | "default";
}

/** Adaptation settings when the model carries none (those of the training experiments). */
export const DEFAULT_ADAPT: AdaptConfig = { method: "gd", steps: 20, lr: 1, prox: 0.02 };

/**
 * Finds or makes the model.
 *
 * @param path An explicit model file (else `models/taugate.onnx`, else a random model).
 * @param tmp A temporary directory for the random model.
 */
export async function benchModel(path: string | undefined, tmp: string): Promise<BenchModel> {
  const file = path ?? join(ROOT, "models/taugate.onnx");
  let bytes: Uint8Array | undefined;
  try {
    bytes = await Deno.readFile(file);
  } catch (err) {
    if (path !== undefined || !(err instanceof Deno.errors.NotFound)) throw err;
  }
  let source: BenchModel["source"] = "shipped";
  let where = file;
  if (bytes === undefined) {
    const m = randomModel(11, {
      ...specShape(),
      hidden: 32,
      layers: [{ outDim: 32, activation: "tanh" }],
      modelId: "bench-random-11",
    });
    bytes = buildModelOnnx(m.weights, m.head, m.meta, { quantize: "int8" });
    where = join(tmp, "taugate.onnx");
    await Deno.writeFile(where, bytes);
    source = "random";
  }
  const meta = readModelMeta(bytes);
  // As the tenant API reads them (defaults for settings the model predates).
  const adapt = meta.adapt !== undefined ? adaptConfigOf(meta) : undefined;
  return {
    path: where,
    bytes,
    meta,
    source,
    adapt: adapt ?? DEFAULT_ADAPT,
    adaptSource: adapt ? "meta.adapt" : "default",
  };
}
