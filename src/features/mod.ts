/**
 * The request feature extractor shared by the worker and training.
 *
 * A request, as a Web `Request` or as a canonical record, becomes a `RequestView`, and the view becomes a
 * `FeatureVector`: sorted indices and values in a hashed space of D buckets plus a dense block. Every
 * constant lives in the versioned `FEATURE_SPEC`.
 *
 * @example
 * ```ts
 * import { featuresOfRecord } from "./mod.ts";
 * const fv = featuresOfRecord({ method: "GET", url: "/search?q=%27%20or%201%3D1--" });
 * console.log(fv.indices.length, fv.dense.length);
 * ```
 * @module
 */
import type { RequestRecord } from "../record/record.ts";
import { extractFeatures, type FeatureTrace, type FeatureVector } from "./extract.ts";
import { INSPECT_BYTES, type Overflow, overflowViews } from "./overflow.ts";
import { DENSE_NAMES, FEATURE_SPEC, type FeatureSpec } from "./spec.ts";
import { viewFromRecord, viewFromRequest } from "./view.ts";

export {
  contentKind,
  extractFeatures,
  extractFeaturesInto,
  type ExtractionWork,
  type FeatureBuffer,
  type FeatureTrace,
  type FeatureVector,
  lastExtractionWork,
  MAX_PARAMS,
  MAX_STRUCTURE,
  newFeatureBuffer,
  PARAM_WORDS,
  ST_BODY,
  ST_COOKIE,
  ST_EXT,
  ST_HEADER,
  ST_KEY,
  ST_KVSHAPE,
  ST_METHOD,
  ST_PATH,
  STRUCTURE_KINDS,
} from "./extract.ts";
export {
  DENSE_DIM,
  DENSE_NAMES,
  FEATURE_SPEC,
  type FeatureCaps,
  type FeatureSpec,
  specId,
  TEXT_FIELDS,
  validateSpec,
} from "./spec.ts";
export {
  INSPECT_BYTES,
  MAX_OVERFLOW_VIEWS,
  type Overflow,
  overflowViews,
  OVERLAP,
  suspicion,
  SUSPICION_MIN,
  VALUE_VIEWS,
} from "./overflow.ts";
export {
  BodyReadError,
  normaliseHeaders,
  normaliseMethod,
  normaliseTarget,
  readPrefix,
  type RequestView,
  targetOfSerialisedUrl,
  viewFromRecord,
  viewFromRequest,
  viewOrPromiseFromRequest,
} from "./view.ts";

/**
 * Features of a canonical record.
 *
 * @param rec The record.
 * @param spec The feature spec (default: the shipped one).
 * @param trace Optional bucket → names map to fill (explanations).
 */
export function featuresOfRecord(
  rec: RequestRecord,
  spec: Readonly<FeatureSpec> = FEATURE_SPEC,
  trace?: FeatureTrace,
): FeatureVector {
  return extractFeatures(viewFromRecord(rec, spec.caps.body), spec, trace);
}

/**
 * Features of a Web `Request`; the body is read from a clone, at most `bodyCap` bytes.
 *
 * @param req The request (left unread).
 * @param spec The feature spec.
 * @param bodyCap Bytes of the body to read (default: the spec's cap).
 */
export async function featuresOfRequest(
  req: Request,
  spec: Readonly<FeatureSpec> = FEATURE_SPEC,
  bodyCap: number = spec.caps.body,
): Promise<FeatureVector> {
  return extractFeatures(await viewFromRequest(req, Math.min(bodyCap, spec.caps.body)), spec);
}

const D_TRUNCATED = DENSE_NAMES.indexOf("truncated");

/**
 * Whether an extraction was cut by the spec's caps (a value, the parameters, the body, a header…): then the
 * request's overflow views (`overflowViews`) hold what it did not read, and its score is the highest of
 * its own and theirs.
 *
 * @param f The features (their dense block).
 */
export function wasTruncated(f: { dense: ArrayLike<number> }): boolean {
  return f.dense[D_TRUNCATED] === 1;
}

const D_QPARAMS = DENSE_NAMES.indexOf("query_params"), D_BPARAMS = DENSE_NAMES.indexOf("body_params");
/**
 * Dense statistics of which any one non-zero says a value may carry code: the values' quotes, brackets,
 * parentheses and `;`, shell characters, template markers, comments, dot segments. (Not the keyword counts:
 * those count a client's headers too, `Windows`, `like`, `xml`, and were set on most browser requests.)
 */
const D_CODE = [
  "quote_ratio",
  "angle_ratio",
  "paren_semicolon_ratio",
  "shell_char_ratio",
  "template_markers",
  "comments",
  "dot_dot_segments",
].map((name) => DENSE_NAMES.indexOf(name));

/**
 * Whether a request needs views (`overflowViews`): its extraction was cut by the spec's caps (a value, the
 * parameters, the body, a header…), or it has two values or more and something in them may be code (then
 * its most suspicious values are scored alone too, `VALUE_VIEWS`). Its score is the highest of its own and
 * its views'.
 *
 * @param f The features (their dense block).
 * @param spec The feature spec they were extracted with.
 */
export function needsViews(
  f: { dense: ArrayLike<number> },
  spec: Readonly<FeatureSpec> = FEATURE_SPEC,
): boolean {
  const d = f.dense;
  if (d[D_TRUNCATED] === 1) return true;
  // `logScale(n, params)` undone: the parameter counts.
  const unscale = Math.log1p(spec.caps.params);
  const n = Math.round(Math.expm1(d[D_QPARAMS] * unscale)) + Math.round(Math.expm1(d[D_BPARAMS] * unscale));
  if (n < 2) return false;
  for (const i of D_CODE) if (d[i] > 0) return true;
  return false;
}

/**
 * The features of a record's views (`overflowViews`), none when it needs none (`needsViews`): what the
 * worker scores beside the request itself.
 *
 * @param rec The record.
 * @param f Its features, when already extracted.
 */
export function viewFeaturesOfRecord(
  rec: RequestRecord,
  f: FeatureVector = featuresOfRecord(rec),
): FeatureVector[] {
  return needsViews(f) ? overflowOfRecord(rec).views.map((v) => extractFeatures(v)) : [];
}

/**
 * The overflow views of a record, as the worker builds them for the same request (the body inspected up
 * to `inspect` bytes). Call it when the record's features `needsViews`.
 *
 * @param rec The record.
 * @param spec The feature spec.
 * @param inspect Body bytes inspected in all.
 */
export function overflowOfRecord(
  rec: RequestRecord,
  spec: Readonly<FeatureSpec> = FEATURE_SPEC,
  inspect: number = INSPECT_BYTES,
): Overflow {
  return overflowViews(viewFromRecord(rec, spec.caps.body, inspect), spec);
}
