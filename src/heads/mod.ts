/**
 * Heads: the per-tenant last step of the hot path (`scoreWithHead`) and their adaptation from a tenant's
 * labelled examples (`adaptHead`).
 *
 * @example
 * ```ts
 * import { adaptHead, scoreWithHead } from "./mod.ts";
 * const init = { w: new Float32Array([1, -1]), b: 0 };
 * const { head } = adaptHead(init, [{ z: new Float32Array([0.1, 0.8]), label: 0 }], {
 *   method: "gd",
 *   steps: 20,
 *   lr: 0.5,
 *   prox: 1,
 * });
 * console.log(scoreWithHead(head, new Float32Array([0.1, 0.8])));
 * ```
 * @module
 */
export { logitWithHead, scoreWithHead, sigmoid } from "./score.ts";
export {
  type AdaptConfig,
  adaptHead,
  type AdaptOptions,
  type AdaptResult,
  classWeights,
  fitHead,
  type HeadExample,
  headInputs,
  headOf,
  initTheta,
  protoHead,
} from "./adapt.ts";
export { buildProfile, deviations, type Profile, type ProfileConfig } from "./profile.ts";
