// The library as a user runs it on Deno: a Hono app with `taugate()` served by `Deno.serve` (no worker, no
// canonicalisation before routing), configured like the socket test's worker entry: block mode, the
// TypeScript engine, `/static/*` excluded, τ = 1, decision headers exposed, heads from a Deno KV file.
//
//   deno run -A --unstable-kv test/hostile/_library_server.ts <model.onnx> <kv.sqlite3>
import { Hono } from "hono";
import { taugate, type TaugateEnv } from "../../src/middleware/mod.ts";
import { loadEngine } from "../../src/model/mod.ts";
import { DenoKvHeadStore } from "../../src/store/deno_kv.ts";

const [modelPath, kvPath] = Deno.args;
const kv = await Deno.openKv(kvPath);
const bytes = await Deno.readFile(modelPath);
const app = new Hono<TaugateEnv>();
const guard = taugate({
  engine: () => loadEngine("ts", bytes),
  mode: "block",
  tau: 1,
  exposeToClient: true,
  exclude: { paths: ["/static/*"] },
  store: new DenoKvHeadStore(kv),
  log: { sample: 1 },
});
app.use("*", guard);
app.all("*", (c) => c.json({ ok: true, path: new URL(c.req.url).pathname }));
Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: async ({ hostname, port }) => {
    console.log(`library listening on http://${hostname}:${port}`);
    const s = await guard.ready();
    console.log(`model ${s.model} ready`);
  },
}, app.fetch);
