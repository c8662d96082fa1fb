/**
 * The ORT engine's adapter for workerd (Cloudflare Workers, wrangler, miniflare).
 *
 * workerd refuses to compile WebAssembly from bytes, so the worker imports onnxruntime-web's `.wasm` as a
 * precompiled `WebAssembly.Module` (wrangler module rule `CompiledWasm`). onnxruntime-web 1.30.0 (its
 * `onnxruntime-web/wasm` entry, one thread) hands `env.wasm.wasmBinary` to `WebAssembly.instantiate(bytes,
 * imports)`; this adapter gives it a short sentinel instead and, while the runtime starts, hooks
 * `WebAssembly.instantiate` so that the sentinel instantiates the precompiled module. That relies on 1.30.0's
 * internals: the version is pinned, and the engine's self-test fails loudly if the runtime misbehaves.
 *
 * ```ts ignore
 * // worker entry (wrangler bundles a .wasm import as CompiledWasm by default; runs on workerd only)
 * import ortWasm from "onnxruntime-web/ort-wasm-simd-threaded.wasm";
 * import { workerdOrtWasm } from "./src/model/ort_workerd.ts";
 * const engine = await createOrtEngine(modelBytes, workerdOrtWasm(ortWasm));
 * ```
 *
 * @module
 */
import type { OrtWasmSource } from "./ort_engine.ts";

const SENTINEL = new TextEncoder().encode("taugate:precompiled-ort-wasm");

type Instantiate = (source: unknown, imports?: WebAssembly.Imports) => Promise<unknown>;

function isSentinel(source: unknown): boolean {
  let bytes: Uint8Array;
  if (source instanceof ArrayBuffer) bytes = new Uint8Array(source);
  else if (ArrayBuffer.isView(source)) {
    bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  } else return false;
  return bytes.length === SENTINEL.length && bytes.every((b, i) => b === SENTINEL[i]);
}

/**
 * The ORT engine's WebAssembly on workerd, from the precompiled module the worker imported.
 *
 * @param module onnxruntime-web 1.30.0's `ort-wasm-simd-threaded.wasm`, imported as a `CompiledWasm` module.
 * @returns The wasm source for `createOrtEngine`.
 * @throws {TypeError} if `module` is not a `WebAssembly.Module`.
 */
export function workerdOrtWasm(module: WebAssembly.Module): OrtWasmSource {
  if (!(module instanceof WebAssembly.Module)) {
    throw new TypeError(
      "workerdOrtWasm: expected a WebAssembly.Module (import the .wasm with the CompiledWasm module rule)",
    );
  }
  return {
    runtime: "workerd",
    wasmBinary: SENTINEL.slice(),
    beforeInit() {
      const wasm = WebAssembly as unknown as { instantiate: Instantiate };
      const original = wasm.instantiate;
      const hooked: Instantiate = (source, imports) =>
        isSentinel(source)
          ? (original.call(WebAssembly, module, imports) as Promise<WebAssembly.Instance>)
            .then((instance) => ({ instance, module }))
          : original.call(WebAssembly, source, imports);
      wasm.instantiate = hooked;
      return () => {
        if (wasm.instantiate === hooked) wasm.instantiate = original;
      };
    },
  };
}
