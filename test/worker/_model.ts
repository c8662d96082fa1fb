/**
 * The small model the worker tests build for themselves (the shipped model comes from training): a
 * deterministic random backbone of this build's feature spec, int8 like the real one.
 */
import { buildModelOnnx, randomModel, specShape } from "../../src/model/mod.ts";

/** The test model's id (shown in `x-taugate-model`). */
export const TEST_MODEL_ID = "test-random-11";

/**
 * The test model's ONNX bytes.
 *
 * @param tau The card's τ.
 */
export function testModelBytes(tau = 0.5): Uint8Array {
  const m = randomModel(11, {
    ...specShape(),
    hidden: 32,
    layers: [{ outDim: 16, activation: "tanh" }],
    modelId: TEST_MODEL_ID,
    tau,
  });
  return buildModelOnnx(m.weights, m.head, m.meta, { quantize: "int8" });
}

/** Writes the test model to a temporary file and returns its path. */
export async function writeTestModel(tau = 0.5): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "taugate-test-model-", suffix: ".onnx" });
  await Deno.writeFile(path, testModelBytes(tau));
  return path;
}
