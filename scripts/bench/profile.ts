/**
 * A loop to profile: the request mix through the benchmark's Hono app with taugate in `block` mode (or
 * `off`), for `deno run --cpu-prof` (see the README's benchmark section).
 *
 * ```sh
 * deno run -A --cpu-prof --cpu-prof-dir=prof scripts/bench/profile.ts [ort|ts|off] [iterations]
 * ```
 *
 * @module
 */
import { loadEngine } from "../../src/model/mod.ts";
import { denoOrtWasm } from "../../src/model/ort_deno.ts";
import { HeadCache } from "../../src/store/mod.ts";
import { benchApp, tenantStore } from "./micro.ts";
import { toRequest, typicalMix } from "./mix.ts";
import { benchModel } from "./model.ts";

const kind = Deno.args[0] ?? "ort";
const n = Number(Deno.args[1] ?? 50_000);
const tmp = await Deno.makeTempDir();
const model = await benchModel(undefined, tmp);
const mix = typicalMix(2000);
const engine = kind === "ts"
  ? await loadEngine("ts", model.bytes)
  : await loadEngine("ort", model.bytes, await denoOrtWasm());
// One engine per process, as deployed (a second TypeScript engine would slow the first: see engine_child.ts).
const store = await tenantStore(engine, mix, model.adapt);
const app = benchApp({
  engine,
  mode: kind === "off" ? "off" : "block",
  store: new HeadCache(store),
  log: { sink: () => {} },
});
const t = performance.now();
for (let i = 0; i < n; i++) await (await app.fetch(toRequest(mix[i % mix.length]))).arrayBuffer();
console.log(
  `${kind}: ${((performance.now() - t) * 1000 / n).toFixed(1)} µs per request (request building included)`,
);
await Deno.remove(tmp, { recursive: true });
