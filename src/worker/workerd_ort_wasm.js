// @ts-self-types="./workerd_ort_wasm.d.ts"
// onnxruntime-web 1.30.0's SIMD wasm, imported as a precompiled workerd module (wrangler's default rule for
// *.wasm, CompiledWasm: workerd refuses to compile WebAssembly from bytes), through the package's export so
// that it resolves the same from this repository and from an installed package. Plain JS with a .d.ts, so
// that `deno check` types it without loading the binary.
import ortWasm from "onnxruntime-web/ort-wasm-simd-threaded.wasm";
export { ortWasm };
