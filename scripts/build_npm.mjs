// Builds the npm package (`taugate`) into dist/npm: ESM bundles of the package's entries and their `.d.ts`,
// a package.json with an `exports` map, `hono` as a peer dependency and the runtime dependencies pinned as
// the repository pins them. The bundled model is inlined into the Workers entries (esbuild's binary loader),
// so `import { workerdEngine } from "taugate/workerd"` is all a Worker needs; the onnxruntime-web
// WebAssembly stays an import of `onnxruntime-web/ort-wasm-simd-threaded.wasm`, which wrangler bundles as a
// CompiledWasm module (its default rule).
//
//   node scripts/build_npm.mjs [--out dist/npm]      then: cd dist/npm && npm pack
//
// Entries: `taugate` (src/mod.ts: middleware, engines, stores, tenant API, learning, worker app),
// `taugate/workerd` (src/runtime/workerd.ts: bundled model, engine with its WebAssembly), `taugate/worker`
// (src/worker/workerd.ts: the standalone worker, `export default`). The package ships what runs: no tests,
// no training package, no CI.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const outArg = args.indexOf("--out");
const OUT = resolve(outArg >= 0 ? args[outArg + 1] : join(ROOT, "dist/npm"));

const deno = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
const root = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

const ENTRIES = {
  index: "src/mod.ts",
  workerd: "src/runtime/workerd.ts",
  worker: "src/worker/workerd.ts",
};
const EXTERNAL = ["hono", "hono/*", "zod", "onnxruntime-web", "onnxruntime-web/*"];

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

await esbuild.build({
  entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([k, v]) => [k, join(ROOT, v)])),
  outdir: join(OUT, "dist"),
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  external: EXTERNAL,
  loader: { ".onnx": "binary" },
  logLevel: "warning",
  legalComments: "none",
});

// Declarations, without a second type check (the repository's `deno check` is the check).
execFileSync(process.execPath, [
  join(ROOT, "node_modules/typescript/bin/tsc"),
  "--declaration",
  "--emitDeclarationOnly",
  "--noCheck",
  "--allowImportingTsExtensions",
  "--rewriteRelativeImportExtensions",
  "--skipLibCheck",
  "--module",
  "preserve",
  "--moduleResolution",
  "bundler",
  "--target",
  "es2022",
  "--lib",
  "es2022,dom,dom.iterable",
  "--rootDir",
  ROOT,
  "--outDir",
  join(OUT, "types"),
  ...Object.values(ENTRIES).map((e) => join(ROOT, e)),
], { stdio: "inherit" });
// Relative imports in the declarations name the `.d.ts` files' JavaScript twins (`.js`), as consumers resolve.
for (const file of walk(join(OUT, "types"))) {
  if (!file.endsWith(".d.ts")) continue;
  const text = readFileSync(file, "utf8");
  writeFileSync(file, text.replace(/(from\s+["'])(\.{1,2}\/[^"']+)\.ts(["'])/g, "$1$2.js$3"));
}
// The `.d.ts` beside the plain-JS modules (the model and the WebAssembly imports) are not emitted by tsc.
for (const f of ["src/worker/workerd_model.d.ts", "src/worker/workerd_ort_wasm.d.ts"]) {
  cpSync(join(ROOT, f), join(OUT, "types", f));
}

const types = (entry) => "./types/" + entry.replace(/\.ts$/, ".d.ts");
const pkg = {
  name: "taugate",
  version: deno.version,
  description: root.description,
  license: deno.license,
  type: "module",
  sideEffects: false,
  exports: {
    ".": { types: types(ENTRIES.index), default: "./dist/index.js" },
    "./workerd": { types: types(ENTRIES.workerd), default: "./dist/workerd.js" },
    "./worker": { types: types(ENTRIES.worker), default: "./dist/worker.js" },
    "./package.json": "./package.json",
  },
  files: ["dist/", "types/", "README.md"],
  peerDependencies: { hono: `^${root.dependencies.hono}` },
  dependencies: { zod: root.dependencies.zod, "onnxruntime-web": root.dependencies["onnxruntime-web"] },
  engines: { node: root.engines.node },
};
writeFileSync(join(OUT, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
cpSync(join(ROOT, "README.md"), join(OUT, "README.md"));
console.log(`built ${pkg.name}@${pkg.version} in ${OUT}`);

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}
