/**
 * The ORT engine's adapter for Deno and Node: onnxruntime-web's WebAssembly read from `node_modules`
 * (`onnxruntime-web/dist/ort-wasm-simd-threaded.wasm`, the SIMD build that 1.30.0's `wasm` entry loads).
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ORT_VERSION, type OrtWasmSource } from "./ort_engine.ts";

const WASM_FILE = "ort-wasm-simd-threaded.wasm";

/** Where the wasm may be: the package's export, then `node_modules` beside the repository's `src/`. */
function candidates(): string[] {
  const out: string[] = [];
  try {
    out.push(fileURLToPath(import.meta.resolve(`onnxruntime-web/${WASM_FILE}`)));
  } catch { /* not resolvable as a package export here (e.g. an import map without it) */ }
  out.push(fileURLToPath(new URL(`../../node_modules/onnxruntime-web/dist/${WASM_FILE}`, import.meta.url)));
  return out;
}

/**
 * Reads onnxruntime-web's WebAssembly for `createOrtEngine` on Deno (`--allow-read`) or Node.
 *
 * @param path The `.wasm` file (default: found in `node_modules`).
 * @returns The wasm source.
 * @throws {Error} if no file is found, it is not WebAssembly, or its package is not onnxruntime-web 1.30.0.
 * @example
 * ```ts
 * import { denoOrtWasm } from "./ort_deno.ts";
 * import { createOrtEngine } from "./ort_engine.ts";
 * const engine = await createOrtEngine(await Deno.readFile("models/taugate.onnx"), await denoOrtWasm());
 * ```
 */
export async function denoOrtWasm(path?: string): Promise<OrtWasmSource> {
  const tried = path ? [path] : candidates();
  for (const file of tried) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch {
      continue;
    }
    if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
      throw new Error(`ort wasm: ${file} is not a WebAssembly binary`);
    }
    if (!path) await checkPackageVersion(file);
    // A plain Uint8Array over its own buffer (Node's Buffer may share a pool).
    const own = new Uint8Array(bytes.length);
    own.set(bytes);
    return { runtime: "Deno" in globalThis ? "deno" : "node", wasmBinary: own };
  }
  throw new Error(`ort wasm: ${WASM_FILE} not found (tried ${tried.join(", ")}); run npm install`);
}

async function checkPackageVersion(wasmFile: string): Promise<void> {
  const pkg = join(dirname(wasmFile), "..", "package.json");
  let version: unknown;
  try {
    version = JSON.parse(await readFile(pkg, "utf8")).version;
  } catch {
    return; // no package.json beside it: the engine's own version check and self-test still apply
  }
  if (version !== ORT_VERSION) {
    throw new Error(
      `ort wasm: ${wasmFile} is from onnxruntime-web ${version}, the engine is pinned to ${ORT_VERSION}`,
    );
  }
}
