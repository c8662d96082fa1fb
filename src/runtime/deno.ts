/**
 * Deno's side of the package: the bundled model and the onnxruntime-web engine with its WebAssembly, in one
 * line each.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { taugate } from "@taugate/taugate";
 * import { denoEngine } from "@taugate/taugate/deno";
 *
 * const app = new Hono();
 * app.use("*", taugate({ engine: denoEngine() })); // the bundled model, onnxruntime-web
 * ```
 * @module
 */
import { loadEngine } from "../model/mod.ts";
import { denoOrtWasm } from "../model/ort_deno.ts";
import type { ScoringEngine } from "../model/types.ts";
import { retryingOnce } from "../util/memo.ts";

export { denoOrtWasm };

/** Where the bundled model is, beside this module in the package. */
export const BUNDLED_MODEL_URL: URL = new URL("../../models/taugate.onnx", import.meta.url);

/**
 * The model shipped with the package (`models/taugate.onnx`), read once (from disk, or from the registry
 * when the package is imported over HTTPS).
 *
 * @returns Its bytes.
 * @throws {Error} when it cannot be read (with the URL tried).
 */
export const bundledModel: () => Promise<Uint8Array> = retryingOnce(async () => {
  const res = await fetch(BUNDLED_MODEL_URL);
  if (!res.ok) throw new Error(`taugate: the bundled model is not at ${BUNDLED_MODEL_URL} (${res.status})`);
  return new Uint8Array(await res.arrayBuffer());
});

/**
 * A lazy engine source for `taugate({ engine })`: the bundled model (or `modelBytes`) on onnxruntime-web
 * with Deno's WebAssembly loader (`ort`, default) or on the TypeScript forward pass (`ts`).
 *
 * @param kind `ort` or `ts`.
 * @param modelBytes Another model (default: the bundled one).
 * @returns A function that loads the engine (the middleware calls it once per isolate).
 */
export function denoEngine(
  kind: "ort" | "ts" = "ort",
  modelBytes?: Uint8Array,
): () => Promise<ScoringEngine> {
  return async () => {
    const bytes = modelBytes ?? await bundledModel();
    return await loadEngine(kind, bytes, kind === "ort" ? await denoOrtWasm() : undefined);
  };
}
