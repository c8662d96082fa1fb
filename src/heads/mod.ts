/**
 * Heads: the per-tenant last step of the hot path (`scoreWithHead`), their adaptation from a tenant's
 * labelled examples and unlabelled traffic (`adaptHead`, with the site's structural profile), and their τ
 * (`tenantTau`).
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
export { type HeadFeatures, logitWithHead, scoreWithHead, sigmoid, viewOf } from "./score.ts";
export {
  type AdaptConfig,
  adaptHead,
  type AdaptOptions,
  type AdaptResult,
  classWeights,
  fitHead,
  type HeadExample,
  type HeadInputs,
  headInputs,
  type NonNegative,
  protoHead,
  type UnlabeledRequest,
} from "./adapt.ts";
export { canaryMatchedTau, detectionRate, tenantTau } from "./calibrate.ts";
export {
  buildSiteProfile,
  minCountFor,
  novelTokenCounts,
  NOVELTY_DIM,
  NOVELTY_NAMES,
  noveltyFeatures,
  noveltyOfCounts,
  profileBitsFromBase64,
  profileBitsToBase64,
  profileHas,
  profileWeight,
  type SiteProfile,
  type SiteProfileConfig,
  siteProfileOf,
  TokenCounts,
} from "./site_profile.ts";
