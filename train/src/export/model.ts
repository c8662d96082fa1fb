/**
 * Export: a trained backbone and head become an ONNX file (int8 weight-only, per output channel, as the
 * model contract specifies; float32 for measuring what quantisation costs), with the model's meta: spec,
 * dimensions, τ, the adaptation settings the worker must use, the canary set, data checksums.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { buildModelOnnx } from "@taugate/model/onnx/write.ts";
import type { BackboneWeights, HeadParams, ModelMeta } from "@taugate/model/types.ts";

/** A model id that depends only on the weights: `taugate-<spec>-<8 hex of sha256(float32 int8 bytes)>`. */
export function modelIdOf(
  prefix: string,
  spec: string,
  bytes: Uint8Array,
): string {
  const h = createHash("sha256").update(bytes).digest("hex").slice(0, 8);
  return `${prefix}-${spec.replace(/^tgfs/, "s")}-${h}`;
}

/**
 * Writes the ONNX bytes of a model, int8 or float32; the model id is derived from the int8 bytes written
 * without it, so equal weights give equal ids.
 *
 * @param weights The backbone.
 * @param head The global head.
 * @param meta The meta (its `modelId` is replaced).
 * @param prefix Id prefix (`taugate`, `erm-finetune`).
 */
export function exportModel(
  weights: BackboneWeights,
  head: HeadParams,
  meta: ModelMeta,
  prefix: string,
): { int8: Uint8Array; float32: Uint8Array; meta: ModelMeta } {
  const draft = buildModelOnnx(weights, head, { ...meta, modelId: "draft" }, {
    quantize: "int8",
  });
  const final = { ...meta, modelId: modelIdOf(prefix, meta.specId, draft) };
  return {
    int8: buildModelOnnx(weights, head, final, { quantize: "int8" }),
    float32: buildModelOnnx(weights, head, final, { quantize: "none" }),
    meta: final,
  };
}

/** A number rounded to `d` decimals (keeps the meta JSON small). */
export function round(x: number, d = 4): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}
