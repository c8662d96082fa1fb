/**
 * The Cloudflare Worker entry without onnxruntime-web (`wrangler deploy --env free`): the TypeScript
 * forward pass over the same ONNX weights (it agrees with onnxruntime-web within 1e-5). Neither the wasm
 * nor onnxruntime-web's JavaScript is bundled, so it fits the free plan's 3 MB gzip limit with room to spare.
 *
 * @module
 */
/// <reference path="./workerd_runtime.d.ts" />
/// <reference path="./workerd_configuration.d.ts" />
import { readModelMeta } from "../model/onnx/read.ts";
import { checkModelSpec } from "../model/spec_check.ts";
import { createTsEngine } from "../model/ts_engine.ts";
import { model } from "./workerd_model.js";
import { workerdHandler } from "./workerd_handler.ts";

export default workerdHandler({
  model,
  engines: {
    // The same checks as `loadEngine("ts", ...)`, without importing the module that pulls in onnxruntime-web.
    ts: (bytes) => {
      checkModelSpec(readModelMeta(bytes));
      return Promise.resolve(createTsEngine(bytes));
    },
  },
  defaultEngine: "ts",
}) satisfies ExportedHandler<Env>;
