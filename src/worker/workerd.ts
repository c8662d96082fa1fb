/**
 * The Cloudflare Worker entry (`wrangler.toml` `main`): the standalone worker on workerd with both engines;
 * `TAUGATE_ENGINE` picks one (default `ort`, onnxruntime-web from the precompiled wasm module, the same
 * engine as on Deno). The bundle carries onnxruntime-web's 14 MB wasm (3.7 MB gzip), more than the free
 * plan's 3 MB: `workerd_ts.ts` is the small build for it.
 *
 * @module
 */
/// <reference path="./workerd_runtime.d.ts" />
/// <reference path="./workerd_configuration.d.ts" />
import { loadEngine } from "../model/mod.ts";
import { workerdOrtWasm } from "../model/ort_workerd.ts";
import { model } from "./workerd_model.js";
import { ortWasm } from "./workerd_ort_wasm.js";
import { workerdHandler } from "./workerd_handler.ts";

export default workerdHandler({
  model,
  engines: {
    ort: (bytes) => loadEngine("ort", bytes, workerdOrtWasm(ortWasm)),
    ts: (bytes) => loadEngine("ts", bytes),
  },
  defaultEngine: "ort",
}) satisfies ExportedHandler<Env>;
