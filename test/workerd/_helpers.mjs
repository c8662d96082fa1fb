/**
 * Helpers for tests that run code on workerd through Miniflare (Node's test runner, plain JS).
 *
 * - `bundleWorker` bundles a worker entry (a file, or source text) with esbuild from the root
 *   `node_modules`; `.wasm` imports become `CompiledWasm` modules and `.onnx`/`.bin` imports `Data` modules,
 *   as wrangler's module rules make them.
 * - `startMiniflare` starts workerd with those modules listed explicitly (Miniflare's own module walker
 *   fails on onnxruntime-web's unused dynamic `import()`, ERR_MODULE_DYNAMIC_SPEC).
 * - `bundleForNode` bundles TypeScript from `src/` for Node and imports it, to compute expected values.
 *
 * @example
 * ```js
 * const { modules } = await bundleWorker({ contents: `export default { fetch: () => new Response("hi") }` });
 * const mf = await startMiniflare({ modules });
 * console.log(await (await mf.dispatchFetch("http://worker/")).text()); // hi
 * await mf.dispose();
 * ```
 */
import { randomUUID } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, extname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { Log, LogLevel, Miniflare } from "miniflare";

/** The repository's root directory (ends with a separator). */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The `compatibility_date` of `wrangler.toml`, so that the tests run the worker as `wrangler` would. */
export const COMPATIBILITY_DATE = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(
  readFileSync(join(ROOT, "wrangler.toml"), "utf8"),
)[1];

/** How imported non-JS files become workerd modules (wrangler's default module rules). */
export const MODULE_TYPES = Object.freeze({ ".wasm": "CompiledWasm", ".onnx": "Data", ".bin": "Data" });

/**
 * Bundles a worker for workerd.
 *
 * @param {{ entry?: string, contents?: string, resolveDir?: string, define?: Record<string, string>, files?: Record<string, string> }} options
 *   `entry`: a file to bundle, or `contents`: the entry's source (TypeScript; relative imports resolve from
 *   `resolveDir`, default the repository root). `files`: module name → file to use instead of what the code
 *   imports under that name (e.g. `{ "taugate.onnx": testModelPath }`, so that a test bundles the real
 *   worker entry with a model of its own; the imported file need not exist).
 * @returns {Promise<{ code: string, modules: { type: string, path: string, contents: string | Uint8Array }[] }>}
 *   The bundle and the Miniflare module list (the bundle first, then every `.wasm`/`.onnx`/`.bin` it imports).
 */
export async function bundleWorker({ entry, contents, resolveDir = ROOT, define = {}, files = {} }) {
  if ((entry === undefined) === (contents === undefined)) {
    throw new TypeError("bundleWorker: give exactly one of entry, contents");
  }
  const assets = new Map(); // module name → file
  const pattern = new RegExp(`(${Object.keys(MODULE_TYPES).map((e) => `\\${e}`).join("|")})$`);
  const modulesPlugin = {
    name: "workerd-modules",
    setup(build) {
      build.onResolve({ filter: pattern }, async (args) => {
        if (args.pluginData?.inner) return undefined;
        const replaced = Object.hasOwn(files, basename(args.path)) ? files[basename(args.path)] : undefined;
        const r = replaced !== undefined ? { path: replaced, errors: [] } : await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          pluginData: { inner: true },
        });
        if (r.errors.length) return { errors: r.errors };
        const name = replaced !== undefined ? basename(args.path) : basename(r.path);
        if (assets.has(name) && assets.get(name) !== r.path) {
          return {
            errors: [{ text: `two different modules are named ${name}: ${assets.get(name)}, ${r.path}` }],
          };
        }
        assets.set(name, r.path);
        return { path: `./${name}`, external: true };
      });
    },
  };
  const result = await esbuild.build({
    ...(entry
      ? { entryPoints: [entry] }
      : { stdin: { contents, resolveDir, loader: "ts", sourcefile: "worker-entry.ts" } }),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    // onnxruntime-web imports these only on Node; they stay as unused dynamic imports.
    external: ["module", "worker_threads", "node:*"],
    define,
    write: false,
    logLevel: "silent",
    plugins: [modulesPlugin],
  });
  const code = result.outputFiles[0].text;
  return {
    code,
    modules: [
      { type: "ESModule", path: join(ROOT, "worker.mjs"), contents: code },
      ...[...assets].map(([name, file]) => ({
        type: MODULE_TYPES[extname(name)],
        path: join(ROOT, name),
        contents: readFileSync(file),
      })),
    ],
  };
}

/**
 * Starts workerd with a bundled worker. Dispose of it with `await mf.dispose()`.
 *
 * @param {{ modules: object[], compatibilityDate?: string, compatibilityFlags?: string[], [option: string]: unknown }} options
 *   `modules` from `bundleWorker`; any other Miniflare worker option (`bindings`, `kvNamespaces`, ...).
 * @returns {Promise<Miniflare>} Ready to `dispatchFetch`.
 */
export async function startMiniflare({ modules, compatibilityDate = "2025-06-01", ...options }) {
  const mf = new Miniflare({
    modules,
    modulesRoot: ROOT,
    compatibilityDate,
    log: new Log(LogLevel.WARN),
    cf: false, // offline: no fetch of the Request.cf object
    ...options,
  });
  await mf.ready;
  return mf;
}

/**
 * Bundles TypeScript (from `src/`, `test/`) for Node and imports it.
 *
 * @param {string} contents The entry's source; relative imports resolve from the repository root.
 * @returns {Promise<Record<string, any>>} The module's exports.
 */
export async function bundleForNode(contents) {
  const result = await esbuild.build({
    stdin: { contents, resolveDir: ROOT, loader: "ts", sourcefile: "node-entry.ts" },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    write: false,
    logLevel: "silent",
  });
  const file = join(tmpdir(), `taugate-${randomUUID()}.mjs`);
  writeFileSync(file, result.outputFiles[0].contents);
  try {
    return await import(pathToFileURL(file).href);
  } finally {
    rmSync(file, { force: true });
  }
}
