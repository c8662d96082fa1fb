// @ts-self-types="./workerd_model.d.ts"
// The bundled model, imported as a workerd Data module (wrangler.toml rule for *.onnx). Plain JS with a
// .d.ts, so that `deno check` types it without loading the file.
import model from "../../models/taugate.onnx";
export { model };
