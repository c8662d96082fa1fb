/** onnxruntime-web's `ort-wasm-simd-threaded.wasm`, precompiled by workerd. */
export declare const ortWasm: WebAssembly.Module;
