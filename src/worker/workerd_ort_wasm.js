// @ts-self-types="./workerd_ort_wasm.d.ts"
// onnxruntime-web 1.30.0's SIMD wasm, imported as a precompiled workerd module (wrangler.toml rule
// CompiledWasm: workerd refuses to compile WebAssembly from bytes). Plain JS with a .d.ts, so that
// `deno check` types it without loading the binary.
import ortWasm from "../../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm";
export { ortWasm };
