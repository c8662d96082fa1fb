/**
 * One engine's in-process measurements, in a process of its own (spawned by `scripts/bench.ts`): one forward
 * pass per call, and the benchmark app with taugate `off`, `block` and `block` with learning on taking turns
 * on the request mix.
 *
 * A process of its own because that is how the engine runs when deployed, and because a second engine in
 * the same isolate changes the first one's speed: V8 specialises the TypeScript engine's forward pass to
 * its weights only while a single engine exists (a second one, even unused, makes it ~45 % slower here).
 *
 * ```sh
 * deno run -A --unstable-kv scripts/bench/engine_child.ts <ort|ts> <model.onnx> <model calls> <app requests>
 * ```
 * Prints one line of JSON: the samples (µs) and the decisions seen.
 *
 * @module
 */
import { loadEngine } from "../../src/model/mod.ts";
import { denoOrtWasm } from "../../src/model/ort_deno.ts";
import { benchMiddleware, benchModel, featuresOf, tenantStore } from "./micro.ts";
import { typicalMix } from "./mix.ts";
import { benchModel as findModel } from "./model.ts";

const [kind, path, modelCalls, appRequests] = Deno.args;
if (kind !== "ort" && kind !== "ts") throw new Error("engine_child: the engine must be ort or ts");
const tmp = await Deno.makeTempDir({ prefix: "taugate-bench-child-" });
try {
  const model = await findModel(path, tmp);
  const engine = await loadEngine(kind, model.bytes, kind === "ort" ? await denoOrtWasm() : undefined);
  const mix = typicalMix(2000);
  const timed = await benchModel({ [kind]: engine }, await featuresOf(mix), Number(modelCalls));
  const store = await tenantStore(engine, mix, model.adapt);
  const mw = await benchMiddleware({ [kind]: engine }, store, mix, Number(appRequests));
  console.log(JSON.stringify({
    model: timed[kind].xs,
    off: mw.off.xs,
    on: mw.on[kind].xs,
    paired: mw.paired[kind].xs,
    learn: mw.learn[kind].xs,
    learnPaired: mw.learnPaired[kind].xs,
    decisions: mw.decisions[kind],
  }));
} finally {
  await Deno.remove(tmp, { recursive: true });
}
