/**
 * Cloudflare Workers' side of the package: the bundled model and the onnxruntime-web engine with its
 * precompiled WebAssembly, in one line each (wrangler bundles the `.wasm` as a `CompiledWasm` module, its
 * default rule).
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { taugate } from "taugate";
 * import { workerdEngine } from "taugate/workerd";
 *
 * const app = new Hono();
 * app.use("*", taugate({ engine: workerdEngine() }));
 * export default app;
 * ```
 * @module
 */
import { loadEngine } from "../model/mod.ts";
import { workerdOrtWasm } from "../model/ort_workerd.ts";
import type { ScoringEngine } from "../model/types.ts";
import { model } from "../worker/workerd_model.js";
import { ortWasm } from "../worker/workerd_ort_wasm.js";

/** The model shipped with the package, as bytes. */
export function bundledModel(): Uint8Array {
  return model instanceof Uint8Array ? model : new Uint8Array(model);
}

/**
 * A lazy engine source for `taugate({ engine })`: the bundled model (or `modelBytes`) on onnxruntime-web
 * (`ort`, default; the paid plan's bundle size) or on the TypeScript forward pass (`ts`).
 *
 * @param kind `ort` or `ts`.
 * @param modelBytes Another model (default: the bundled one).
 * @returns A function that loads the engine (the middleware calls it once per isolate).
 */
export function workerdEngine(
  kind: "ort" | "ts" = "ort",
  modelBytes?: Uint8Array,
): () => Promise<ScoringEngine> {
  return () =>
    loadEngine(kind, modelBytes ?? bundledModel(), kind === "ort" ? workerdOrtWasm(ortWasm) : undefined);
}
