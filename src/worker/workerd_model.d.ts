/** `models/taugate.onnx`, as workerd gives a `Data` module. */
export declare const model: ArrayBuffer;
