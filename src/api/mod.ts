/**
 * The tenant API: tenants upload a few labelled requests and get a head adapted to their site, checked by
 * the guard, versioned in KV and used by the worker from their next request on.
 *
 * - `tenantApi(options)`: the Hono app under `/_taugate` (routes, auth, versions, guard, dry-run scoring);
 * - `apiConfigFromEnv(env)`: its settings (`TAUGATE_ADMIN_TOKEN`, `TAUGATE_GUARD_MARGIN`,
 *   `TAUGATE_HEAD_VERSIONS`); `null` when the API is off;
 * - the pieces, usable alone: `candidateHead` (all an upload computes before storing), `fitTenantHead`
 *   (featurise, embed, `adaptHead`), `canaryMatchedTau` (the head's
 *   own τ) and `outOfFoldBenignScores`, `guardCheck`, `canaryEmbeddings`, `explainLogit`, `publishHead` / `rollbackHead` /
 *   `removeHead`, `importForReview` (a file's records for the console).
 *
 * The standalone worker mounts it in front of the middleware when `TAUGATE_ADMIN_TOKEN` is set
 * (`createWorkerApp`'s `api` option): requests under `/_taugate` are answered by the API, never scored and
 * never forwarded.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { tenantApi } from "./mod.ts";
 * import { MemoryTenantStore } from "../store/mod.ts";
 * const store = new MemoryTenantStore();
 * const api = tenantApi({ adminToken: "x".repeat(40), store, engine });
 * const res = await api.request("/_taugate/tenants/shop-1/head", { headers: { authorization: `Bearer ${"x".repeat(40)}` } });
 * console.log(res.status); // 404: no head yet
 * ```
 * @module
 */
export { isApiPath, type Principal, tenantApi, type TenantApiEnv, type TenantApiOptions } from "./api.ts";
export {
  API_CONFIG_VARIABLES,
  type ApiConfig,
  apiConfigFromEnv,
  DEFAULT_GUARD_MARGIN,
  DEFAULT_KEEP_VERSIONS,
  MIN_ADMIN_TOKEN_LENGTH,
} from "./config.ts";
export { canaryMatchedTau, MAX_FOLDS, outOfFoldBenignScores } from "./calibrate.ts";
export { type Candidate, candidateHead, type CandidateInput, type CandidateMs } from "./candidate.ts";
export { API_HEADERS, ApiError, json } from "./errors.ts";
export { type Contribution, explainLogit, type Explanation } from "./explain.ts";
export { type Embedder, embedderOf, fitTenantHead, type LabelCounts, type TenantFit } from "./fit.ts";
export { detectionRate, guardCheck, type GuardFigures, type GuardInput } from "./guard.ts";
export { importForReview, type ImportResult } from "./import.ts";
export { adaptConfigOf, canaryEmbeddings, type CanarySet, canarySet } from "./model.ts";
export { API_PREFIX, openApiDocument } from "./openapi.ts";
export {
  bearerToken,
  mintTenantToken,
  sha256,
  TENANT_TOKEN_PREFIX,
  tenantTokenId,
  timingSafeEqual,
  tokenMatches,
} from "./tokens.ts";
export {
  type ParsedUpload,
  parseUpload,
  readBodyText,
  UPLOAD_MEDIA_TYPES,
  type UploadFormat,
  uploadFormat,
  uploadMediaType,
} from "./upload.ts";
export {
  KeyedLock,
  nextVersion,
  publishHead,
  removeHead,
  rollbackHead,
  type Unversioned,
  type VersionContext,
} from "./versions.ts";
// Types of the signatures above that live elsewhere.
export type { AdaptConfig, Anchor, HeadExample, UnlabeledRequest } from "../heads/adapt.ts";
export type { ResidualConfig, ResidualFeatures } from "../heads/residual.ts";
export type { SiteProfileConfig } from "../heads/site_profile.ts";
export type { FeatureTrace, FeatureVector } from "../features/extract.ts";
export type { ImportFormat } from "../importers/types.ts";
export type { RequestRecord } from "../record/record.ts";
