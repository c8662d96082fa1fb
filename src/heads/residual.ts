/**
 * The residual of a tenant head: what a tenant's labels teach that the global head's embedding cannot say.
 * The adapted logit of a request is
 *
 * ```
 * α·(w₀·z + b₀) + β + a·n + r·x + r_d·d
 * ```
 *
 * with `w₀·z + b₀` the global head (the meta-learned init), α and β how far the tenant's labels trust it, `a·n` the
 * site profile's novelty (and value) term, `r` a sparse residual over the request's hashed features `x` (the very
 * vector the backbone reads) and `r_d` one over its dense block `d`. Each group has a prior toward the global head
 * (α = 1, β = 0, r = 0, r_d = 0, a = a₀) whose strength is a setting of the model (`meta.adapt.residual`), chosen
 * across training tenants' episodes: with five labels per class the head stays close to the global one, with fifty
 * the residual learns the site's own words. The novelty weights' prior is weak (`l2Novelty` 0.001) for a site
 * profile of 300 requests or more, stronger for fewer (`noveltyFrom`): how much "unusual for this site" weighs is
 * what a site's labels tell best, once the profile knows the site. α, β, the novelty weights and the dense residual
 * are kept when the labels hold one class only (a benign-only upload says nothing about how far to trust the global
 * head, and the dense block — method, lengths, counts — would act as a bias on the whole site): the sparse residual
 * alone makes those requests pass, and only just (`margin`), when τ is known. Such a correction only lowers: its
 * weights stay at most 0, so no request scores higher than under the global head for it (`adaptHead` also
 * builds no site profile for a correction that brings no unlabelled traffic). And it applies to the corrected
 * requests' endpoints only (`endpoints`, the head's `re`): an attack on any other endpoint of the site keeps the
 * global head's score (on real sites, `sitefp`, the attacks a correction cost came from everywhere on the
 * site: what the upload shares with every request, its client and method, moved with it). On those endpoints it
 * applies as far as a request is made of the uploaded requests' hashed features (`gate`, the head's `rs` and
 * `rg`, `residualGate`): an attack on a corrected form carries words the upload never had and keeps the
 * global head's score, while the uploaded requests and their recombinations pass. A correction's
 * step is bounded by the curvature of its rows (a squared hinge has no bounded curvature: a false positive
 * logged many times made a step overshoot by tens of logits, and the contrasts then pulled it back above τ),
 * and the weight of an uploaded request still at τ doubles every `escalate` steps: the contrasts may slow a
 * correction rather than keep an uploaded request flagged; one that still has an uploaded request within half a
 * margin of τ after its steps goes on escalating, for at most `OVERTIME_ESCALATIONS` more rounds.
 *
 * The fitted head folds α and β into `w` and `b`, keeps the largest `maxWeights` residual weights (sorted
 * indices `ri`, values `rv`) and the dense residual `rd`, so scoring is `w·z + b + a·n + Σ rv·x[ri] + rd·d`:
 * a merge of two short sorted lists on top of the global head's dot product. A correction that the cut to
 * `maxWeights` leaves with an uploaded request at τ is fitted once more on the kept weights' features alone.
 *
 * @module
 */
import { DENSE_NAMES, MAX_DIM } from "../features/spec.ts";
import { PARAM_CLASS_MASK, PARAM_REPEATED, PARAM_WORDS } from "../features/extract.ts";
import { sigmoid as sigma } from "../util/math.ts";

/** The residual's settings (`meta.adapt.residual`). */
export interface ResidualConfig {
  /** Prior strength (L2 toward 0) of the sparse residual `r`. */
  l2: number;
  /** Prior strength of the dense residual `r_d`. */
  l2Dense: number;
  /** Prior strength of α toward 1 and β toward 0 (the trust in the global head). */
  l2Scale: number;
  /** Prior strength of the novelty weights toward `a₀`... */
  l2Novelty: number;
  /**
   * ... times `max(1, noveltyFrom / R)` for a site profile of R requests: a profile of a few labelled requests
   * says little about what is unusual for the site, one of thousands says much. 0 or absent: `l2Novelty`.
   */
  noveltyFrom?: number;
  /** Gradient steps. */
  steps: number;
  /** Step size. */
  lr: number;
  /** Residual weights kept (largest |r|), bounding the stored head. */
  maxWeights: number;
  /**
   * How far below τ (in logits) an upload of benign requests only brings them: such an upload is a
   * correction of false positives, fitted as the smallest residual that brings each under `logit τ − margin`
   * (a squared hinge), not as far down as the logistic loss would push them, so that attacks sharing their
   * endpoint or client lose no more than the correction needs.
   */
  margin: number;
  /** Total weight of a correction's contrasts (attack copies of its requests), against the upload's 1. */
  contrast: number;
  /**
   * Total weight of the anchors, known attacks (the model's canaries) fitted beside the tenant's labels as
   * attacks, against the upload's 1: they keep the residual from learning that what every request carries
   * (a client's headers, the method) is benign. 0: none.
   */
  anchors: number;
  /**
   * A correction applies only to requests of the corrected requests' endpoints (method and path shape,
   * `HeadParams.re`): every other request of the site, and every attack on another endpoint, keeps the global
   * head's score. Absent or false: everywhere (a model's settings read by the tenant API default to true).
   */
  endpoints?: boolean;
  /**
   * In a correction, every this many steps the weight of each uploaded request still at or above τ doubles
   * (and the acceleration restarts), so that the contrasts slow a correction rather than keep an uploaded
   * request flagged. 0 or absent: fixed weights.
   */
  escalate?: number;
  /**
   * A correction applies in full only to requests made of what the corrected requests are made of: the head
   * keeps a bitmap of the uploaded requests' hashed features (`HeadParams.rs`), and a request's residual is
   * scaled by its *support*, the share of its feature mass (Σ|x|) whose feature is in the bitmap, mapped
   * linearly from `[from, to]` onto `[0, 1]` (`residualGate`). An attack on a corrected endpoint carries
   * words the corrected requests never had, so its support is lower and it keeps more of the global head's
   * score; the uploaded requests themselves have support 1. The gate acts at scoring only: the fit is the
   * same (its contrasts and anchors hold the residual as if it applied to them in full). Absent, null or
   * `to <= from`: no gate (the correction applies in full on its endpoints).
   */
  gate?: { from: number; to: number } | null;
  /**
   * With the gate, a correction also keeps the largest value the uploaded requests have in each of the dense
   * block's evidence counts (`CORRECTION_BOUNDED`: parameters, escapes, control characters, keywords, dot
   * segments, …; the head's `rb`), and applies nothing to a request above one of them: a copy of an uploaded
   * request with a parameter repeated, control characters or a bad escape appended is made of the upload's
   * words but is not one of its requests (on real sites, `sitefp`, those tampered copies were the attacks a
   * correction still lost). Absent or true: bounds; false: none.
   */
  bounds?: boolean;
  /**
   * With the gate, a correction also keeps the *shape* of the uploaded requests' named values, per endpoint
   * (`HeadParams.rp`, `correctionShape`): the names each endpoint was sent and the character classes (digits,
   * letters, non-ASCII, symbols, …) each name's values had. A request of a corrected endpoint that sends a name
   * the upload never sent there, repeats a name the upload never repeated, or puts a character class into a
   * value that the upload never had for that name gets no residual: a tampered copy of an uploaded request
   * (`post_id=-1` for `post_id=1991`, `id=55abc` for `id=55`) is made of the upload's words but is not one of
   * its requests. A name left out is no break (see `withinShape`). Absent or true: shape; false: none.
   */
  shape?: boolean;
}

/**
 * The dense slots a correction bounds (`ResidualConfig.bounds`), by name: counts that an attack or a tampered
 * copy raises and a near duplicate of a benign request keeps.
 */
export const CORRECTION_BOUNDED_NAMES: readonly string[] = Object.freeze([
  "query_params",
  "body_params",
  "decode_depth",
  "invalid_escapes",
  "unicode_escapes",
  "html_entities",
  "control_chars",
  "sql_keywords",
  "shell_keywords",
  "html_js_keywords",
  "path_keywords",
  "template_markers",
  "comments",
  "dot_dot_segments",
  "invalid_utf8",
  "raw_dot_segments",
  "raw_backslashes",
]);

/** Their slots in the dense block (`DENSE_NAMES`), in the order of `CORRECTION_BOUNDED_NAMES`. */
export const CORRECTION_BOUNDED: Int32Array = Int32Array.from(CORRECTION_BOUNDED_NAMES, (name) => {
  const j = DENSE_NAMES.indexOf(name);
  if (j < 0) throw new Error(`CORRECTION_BOUNDED_NAMES: ${name} is not a dense slot`);
  return j;
});

/**
 * A correction's bounds (`HeadParams.rb`): for each slot of `CORRECTION_BOUNDED`, the largest value among
 * the uploaded requests (as float32, the stored head's precision).
 *
 * @param features The uploaded requests' features.
 */
export function correctionBounds(features: readonly ResidualFeatures[]): Float32Array {
  const rb = new Float32Array(CORRECTION_BOUNDED.length).fill(-Infinity);
  for (const f of features) {
    for (let k = 0; k < rb.length; k++) {
      const v = Math.fround(f.dense[CORRECTION_BOUNDED[k]] ?? 0);
      if (v > rb[k]) rb[k] = v;
    }
  }
  for (let k = 0; k < rb.length; k++) if (rb[k] === -Infinity) rb[k] = 0;
  return rb;
}

/**
 * Whether a request is within a correction's bounds (`HeadParams.rb`): true without bounds.
 *
 * @param rb The bounds, or undefined.
 * @param dense The request's dense block.
 */
export function withinBounds(rb: ArrayLike<number> | undefined, dense: ArrayLike<number>): boolean {
  if (rb === undefined) return true;
  const n = Math.min(rb.length, CORRECTION_BOUNDED.length);
  for (let k = 0; k < n; k++) if (Math.fround(dense[CORRECTION_BOUNDED[k]] ?? 0) > rb[k]) return false;
  return true;
}

/** A shape entry's flag: some uploaded request of the endpoint carried the name twice or more. */
export const SHAPE_REPEATED = 1 << 29;
/** A shape entry's flag, on every entry of its endpoint: some uploaded request of it listed no value at all. */
export const SHAPE_BARE = 1 << 28;
/** Most (endpoint, name) entries a correction's shape keeps; an upload of more gets no shape. */
export const MAX_SHAPE_ENTRIES = 256;

/** The listed values of a request's `params` (`FeatureVector.params`): how many, given an optional count. */
function listedValues(params: ArrayLike<number>, nParams?: number): number {
  const fit = Math.floor((params.length - 1) / PARAM_WORDS);
  return nParams === undefined ? Math.max(0, fit) : Math.max(0, Math.min(nParams, fit));
}

/**
 * A correction's shape (`HeadParams.rp`, `ResidualConfig.shape`): for each endpoint of the upload and each
 * name its requests listed there, one entry of three int32, `[endpoint, name, classes | flags]`, sorted by
 * endpoint then name: `classes` the union of the character classes of that name's values
 * (`PARAM_CLASS_MASK`), `SHAPE_REPEATED` when one request carried it twice, and `SHAPE_BARE` on every entry
 * of an endpoint that some uploaded request sent without any named value (an endpoint sent none at all has one
 * entry, name 0 and no classes). Undefined when an uploaded
 * request lists no endpoint, or when the upload has more than `MAX_SHAPE_ENTRIES` entries (then a correction
 * keeps no shape).
 *
 * @param features The uploaded requests' features, with their `params`.
 */
export function correctionShape(
  features: readonly { params?: ArrayLike<number>; nParams?: number }[],
): Int32Array | undefined {
  const perEndpoint = new Map<number, Map<number, number>>();
  const bare = new Set<number>();
  for (const f of features) {
    const p = f.params;
    if (p === undefined || p.length === 0) return undefined;
    const ep = p[0] | 0;
    let names = perEndpoint.get(ep);
    if (names === undefined) perEndpoint.set(ep, names = new Map());
    const n = listedValues(p, f.nParams);
    if (n === 0) bare.add(ep);
    for (let i = 0; i < n; i++) {
      const o = 1 + i * PARAM_WORDS, key = p[o] | 0, word = p[o + 2] | 0;
      let bits = (word >>> 16) & PARAM_CLASS_MASK;
      if (word & PARAM_REPEATED) bits |= SHAPE_REPEATED;
      names.set(key, (names.get(key) ?? 0) | bits);
    }
  }
  const rows: number[][] = [];
  for (const [ep, names] of perEndpoint) {
    for (const [key, bits] of names) rows.push([ep, key, bits | (bare.has(ep) ? SHAPE_BARE : 0)]);
    // An endpoint that was sent no named value at all keeps one entry all the same (name 0, no classes): a
    // request of it that sends a name is out of its shape.
    if (names.size === 0) rows.push([ep, 0, SHAPE_BARE]);
  }
  if (rows.length > MAX_SHAPE_ENTRIES) return undefined;
  rows.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  return Int32Array.from(rows.flat());
}

/**
 * Whether a request is of a correction's shape (`HeadParams.rp`, `correctionShape`): true without a shape or
 * for an endpoint the shape does not list (the endpoint check is `residualApplies`'); false when it sends a
 * name the upload never sent to its endpoint, repeats one the upload never repeated, has a value with a
 * character class the upload's values of that name never had, or sends no named value at all where every
 * uploaded request of its endpoint sent some (`?file=…` left out). A name left out beside others is no break:
 * the upload's own value views (one value alone) leave names out, and so do honest near duplicates. Linear in
 * the request's listed values, with a binary search per value over the shape.
 *
 * @param rp The shape, or undefined.
 * @param params The request's `params`, or undefined.
 * @param nParams Its listed values (default: as many as `params` holds).
 */
export function withinShape(
  rp: ArrayLike<number> | undefined,
  params: ArrayLike<number> | undefined,
  nParams?: number,
): boolean {
  if (rp === undefined || params === undefined || params.length === 0) return true;
  const ep = params[0] | 0, entries = Math.floor(rp.length / 3);
  // The endpoint's entries: [first, end).
  let lo = 0, hi = entries;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((rp[mid * 3] | 0) < ep) lo = mid + 1;
    else hi = mid;
  }
  const first = lo;
  let end = first;
  while (end < entries && (rp[end * 3] | 0) === ep) end++;
  if (end === first) return true;
  const n = listedValues(params, nParams);
  if (n === 0) return (rp[first * 3 + 2] & SHAPE_BARE) !== 0;
  for (let i = 0; i < n; i++) {
    const o = 1 + i * PARAM_WORDS, key = params[o] | 0, word = params[o + 2] | 0;
    let a = first, b = end;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if ((rp[mid * 3 + 1] | 0) < key) a = mid + 1;
      else b = mid;
    }
    if (a === end || (rp[a * 3 + 1] | 0) !== key) return false;
    const allowed = rp[a * 3 + 2] | 0;
    if (((word >>> 16) & PARAM_CLASS_MASK) & ~allowed) return false;
    if ((word & PARAM_REPEATED) && !(allowed & SHAPE_REPEATED)) return false;
  }
  return true;
}

/** What `ofShape` reads of a request: its listed values, and those of the request it is a view of. */
export interface ShapeFeatures {
  /** `FeatureVector.params`. */
  params?: ArrayLike<number>;
  /** Its listed values (default: as many as `params` holds). */
  nParams?: number;
  /**
   * The request this is an overflow view of (`overflowViews`: one value alone, a piece of what the caps cut
   * off), when it is one.
   */
  of?: { params?: ArrayLike<number>; nParams?: number };
}

/**
 * Whether a request, or an overflow view and the request it was cut from, is of a correction's shape
 * (`withinShape`). A view is judged with its request: one value cut out of a tampered request (a new name
 * beside it, a new character class elsewhere) is within the shape alone, and would otherwise carry the
 * correction its request was refused.
 *
 * @param rp The shape, or undefined.
 * @param f The request's (or view's) listed values, and its request's when it is a view.
 */
export function ofShape(rp: ArrayLike<number> | undefined, f: ShapeFeatures): boolean {
  if (rp === undefined) return true;
  return withinShape(rp, f.params, f.nParams) &&
    (f.of === undefined || withinShape(rp, f.of.params, f.of.nParams));
}

/** Most rounds of `escalate` steps a correction takes beyond its `steps` while an uploaded request is at τ. */
export const OVERTIME_ESCALATIONS = 5;

/** Most endpoints a correction is limited to; an upload of more distinct endpoints corrects everywhere. */
export const MAX_CORRECTION_ENDPOINTS = 1024;

/**
 * Whether a head's residual applies to a request: always without `re`; with it, only when the request's
 * endpoint (`params[0]` of its features: method and path shape) is one of `re` (sorted).
 *
 * @param re The head's endpoints (`HeadParams.re`), or undefined.
 * @param params The request's listed parameters (`FeatureVector.params`), or undefined (then: no).
 */
export function residualApplies(re: Int32Array | undefined, params: ArrayLike<number> | undefined): boolean {
  if (re === undefined) return true;
  if (params === undefined || params.length === 0) return false;
  const ep = params[0] | 0;
  let lo = 0, hi = re.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1, v = re[mid];
    if (v === ep) return true;
    if (v < ep) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * The bitmap of a correction's support (`HeadParams.rs`): bit j set when hashed feature j occurs in one of
 * the uploaded requests. One bit per hashed index (`dim / 8` bytes).
 *
 * @param features The uploaded requests' features.
 * @param dim The feature spec's hashed dimension (a power of two, at most `MAX_DIM`).
 */
export function supportBitmap(features: readonly ResidualFeatures[], dim: number): Uint8Array {
  const bits = new Uint8Array(Math.max(1, dim >>> 3));
  for (const f of features) {
    const nnz = f.nnz ?? f.indices.length;
    for (let k = 0; k < nnz; k++) {
      const j = f.indices[k];
      if (j >= 0 && j < dim && f.values[k] !== 0) bits[j >>> 3] |= 1 << (j & 7);
    }
  }
  return bits;
}

/**
 * How far a correction applies to a request (in [0, 1]): its support, the share of its feature mass whose
 * hashed feature is in the correction's bitmap, mapped from `[from, to]` onto `[0, 1]` (see
 * `ResidualConfig.gate`). 1 without a bitmap or gate; 0 for a request without hashed features, and for one
 * above the correction's bounds (`rb`, `ResidualConfig.bounds`).
 *
 * @param rs The correction's bitmap (`HeadParams.rs`), or undefined.
 * @param rg The gate's `[from, to]` (`HeadParams.rg`), or undefined.
 * @param f The request's features.
 * @param rb The correction's bounds (`HeadParams.rb`), or undefined (none).
 */
export function residualGate(
  rs: Uint8Array | undefined,
  rg: ArrayLike<number> | undefined,
  f: ResidualFeatures,
  rb?: ArrayLike<number>,
): number {
  if (rs === undefined || rg === undefined) return 1;
  if (!withinBounds(rb, f.dense)) return 0;
  const nnz = f.nnz ?? f.indices.length, idx = f.indices, val = f.values, limit = rs.length << 3;
  let all = 0, inside = 0;
  for (let i = 0; i < nnz; i++) {
    const j = idx[i], v = Math.abs(val[i]);
    all += v;
    if (j < limit && (rs[j >>> 3] & (1 << (j & 7))) !== 0) inside += v;
  }
  if (!(all > 0)) return 0;
  const from = rg[0], to = rg[1], c = inside / all;
  if (c >= to) return 1;
  if (c <= from) return 0;
  return (c - from) / (to - from);
}

/**
 * `residualGate(rs, rg, f, rb) · residualLogit(ri, rv, rd, f)` in one pass over the request's features (the hot
 * path of a correction's endpoints). Its probe loop is `residualLogit`'s, written out again on purpose: one
 * function with a branch inside the loop, or the probe as a helper, cost the gate-less heads 0.3–0.45 µs a
 * request (`scripts/correction_timing.ts`: 0.66 µs as it is, 0.95 and 1.1 µs so).
 *
 * @param ri Sorted residual indices.
 * @param rv Their weights.
 * @param rd The dense residual.
 * @param rs The correction's support bitmap.
 * @param rg The gate's `[from, to]`.
 * @param f The request's features.
 * @param rb The correction's bounds (`HeadParams.rb`), or undefined (none).
 */
export function gatedResidualLogit(
  ri: Int32Array | undefined,
  rv: Float32Array | undefined,
  rd: Float32Array | undefined,
  rs: Uint8Array,
  rg: ArrayLike<number>,
  f: ResidualFeatures,
  rb?: ArrayLike<number>,
): number {
  // A request above the correction's bounds is not one of its requests: no residual (checked first, as it
  // costs a few comparisons and saves the pass over the features).
  if (!withinBounds(rb, f.dense)) return 0;
  if (ri === undefined || rv === undefined || ri.length === 0) {
    const r = residualLogit(undefined, undefined, rd, f);
    return r === 0 ? 0 : residualGate(rs, rg, f) * r;
  }
  const nnz = f.nnz ?? f.indices.length, idx = f.indices, val = f.values, limit = rs.length << 3;
  const t = tableOf(ri, rv), keys = t.keys, weights = t.weights, mask = keys.length - 1, shift = t.shift;
  let s = 0, all = 0, inside = 0;
  for (let i = 0; i < nnz; i++) {
    const j = idx[i], v = val[i];
    all += v < 0 ? -v : v;
    if (j < limit && (rs[j >>> 3] & (1 << (j & 7))) !== 0) inside += v < 0 ? -v : v;
    let h = Math.imul(j, 0x9e3779b1) >>> shift;
    for (;;) {
      const key = keys[h];
      if (key === j) {
        s += weights[h] * v;
        break;
      }
      if (key === -1) break;
      h = (h + 1) & mask;
    }
  }
  if (rd !== undefined) {
    const d = f.dense, n = Math.min(rd.length, d.length);
    for (let j = 0; j < n; j++) s += rd[j] * d[j];
  }
  if (s === 0 || !(all > 0)) return 0;
  const from = rg[0], to = rg[1], c = inside / all;
  return c >= to ? s : c <= from ? 0 : s * (c - from) / (to - from);
}

/** The defaults; `meta.adapt.residual` of a model overrides them. */
export const RESIDUAL_DEFAULT: Readonly<ResidualConfig> = Object.freeze({
  l2: 0.005,
  l2Dense: 0.001,
  l2Scale: 1,
  l2Novelty: 0.001,
  noveltyFrom: 300,
  steps: 50,
  lr: 1,
  maxWeights: 1024,
  margin: 0.5,
  contrast: 3,
  anchors: 0.25,
  endpoints: true,
  escalate: 10,
  // Chosen on validation folds: `rotations --seed 1 --save DIR`'s rotation-0 model with `sitefp --folds 1` and
  // its rotation-1 model with `sitefp --folds 2` (each rotation's calibration fold, which it never trained on),
  // by the rule "fewest sites whose attacks fall more than 0.2 points, then the other half's block rate after".
  // Sites losing > 0.2 points of 23: 0.8–0.95 13, 0.85–0.99 (the last release) 10, 0.9–1 7, 0.93–1 4, 0.95–1 4,
  // 0.97–1 3, 0.99–1 2; the other half after the correction 1.09, 1.33, 1.55, 1.57, 1.57, 1.63, 1.63 % (from
  // 2.46 %). Checked after on the test folds 0, 3 and 4 (rotations 0, 3, 4): 18 of 34 sites → 2, largest fall
  // 2.25 → 0.25 points, the other half 1.21 → 1.55 % (from 2.04 %). A correction now passes the uploaded requests
  // and what is made of their features almost alone, not every request that shares most of them.
  gate: Object.freeze({ from: 0.99, to: 1 }),
});

/** Anchors used by one fit at most (evenly spread over the canary set), bounding its cost. */
export const MAX_ANCHORS = 48;

/** A request's features as the residual reads them (`FeatureBuffer`, `SparseFeatures`). */
export interface ResidualFeatures {
  /** Sorted, unique hashed indices. */
  indices: ArrayLike<number>;
  /** The feature values, entry for entry with `indices` (the residual's `x`). */
  values: ArrayLike<number>;
  /** The dense block of structural numbers (method, lengths, counts: the residual's `d`). */
  dense: ArrayLike<number>;
  /** Valid entries of `indices`/`values` (default: all). */
  nnz?: number;
}

/** A fitted residual. */
export interface Residual {
  alpha: number;
  beta: number;
  /** Novelty weights (absent without a profile). */
  a: Float64Array | null;
  ri: Int32Array;
  rv: Float32Array;
  rd: Float32Array;
  /** The final objective (before the smallest weights are dropped). */
  loss: number;
}

/** A head's residual weights by feature index: open addressing, linear probing, load ≤ 1/2. */
interface WeightTable {
  keys: Int32Array;
  weights: Float32Array;
  /** 32 − log2(slots): the hash's top bits pick the slot. */
  shift: number;
}

const TABLES = new WeakMap<Int32Array, WeightTable>();

/** The weight table of a head's residual, built once per head (keyed by its `ri` array). */
function tableOf(ri: Int32Array, rv: Float32Array): WeightTable {
  let t = TABLES.get(ri);
  if (t === undefined) {
    let bits = 1;
    while (1 << bits < 2 * ri.length) bits++;
    const keys = new Int32Array(1 << bits).fill(-1), weights = new Float32Array(1 << bits);
    const shift = 32 - bits, mask = keys.length - 1;
    for (let k = 0; k < ri.length; k++) {
      let h = Math.imul(ri[k], 0x9e3779b1) >>> shift;
      while (keys[h] !== -1 && keys[h] !== ri[k]) h = (h + 1) & mask;
      keys[h] = ri[k];
      weights[h] = rv[k];
    }
    t = { keys, weights, shift };
    TABLES.set(ri, t);
  }
  return t;
}

/**
 * A head's residual weight of one hashed feature (0 when it has none), through the same table as scoring.
 *
 * @param ri Sorted residual indices (absent: no residual).
 * @param rv Their weights.
 * @param j The feature's index.
 */
export function residualWeight(ri: Int32Array | undefined, rv: Float32Array | undefined, j: number): number {
  if (ri === undefined || rv === undefined || ri.length === 0) return 0;
  const t = tableOf(ri, rv), mask = t.keys.length - 1;
  for (let h = Math.imul(j, 0x9e3779b1) >>> t.shift;; h = (h + 1) & mask) {
    if (t.keys[h] === j) return t.weights[h];
    if (t.keys[h] === -1) return 0;
  }
}

/**
 * `Σ rv[k]·x[ri[k]] + rd·d` for a request: the residual part of a tenant head's logit.
 *
 * @param ri Sorted residual indices.
 * @param rv Their weights.
 * @param rd The dense residual (may be shorter than `f.dense`, never longer).
 * @param f The request's features.
 */
export function residualLogit(
  ri: Int32Array | undefined,
  rv: Float32Array | undefined,
  rd: Float32Array | undefined,
  f: ResidualFeatures,
): number {
  let s = 0;
  if (ri !== undefined && rv !== undefined && ri.length > 0) {
    const nnz = f.nnz ?? f.indices.length, idx = f.indices, val = f.values;
    // A hash table of the head's weights (built once per head, at most 2 slots per weight): one probe or two
    // per feature of the request, whatever the number of weights.
    const t = tableOf(ri, rv), keys = t.keys, weights = t.weights, mask = keys.length - 1;
    for (let i = 0; i < nnz; i++) {
      const j = idx[i];
      let h = Math.imul(j, 0x9e3779b1) >>> t.shift;
      for (;;) {
        const key = keys[h];
        if (key === j) {
          s += weights[h] * val[i];
          break;
        }
        if (key === -1) break;
        h = (h + 1) & mask;
      }
    }
  }
  if (rd !== undefined) {
    const d = f.dense, n = Math.min(rd.length, d.length);
    for (let j = 0; j < n; j++) s += rd[j] * d[j];
  }
  return s;
}

/**
 * Fits the residual on labelled examples: gradient steps on the class-balanced logistic loss of the adapted
 * logit plus each group's prior (see the module doc).
 *
 * @param g The global head's logit of each example (`w₀·z + b₀`).
 * @param novelty Each example's novelty features (`[n][N]`), or null without a profile.
 * @param a0 The novelty weights' prior (length N), or null.
 * @param features Each example's features.
 * @param ys Labels.
 * @param rowWeights Each example's weight in the loss.
 * @param bothClasses Whether the tenant's labels hold both classes (else α, β and the dense residual stay).
 * @param config The settings.
 * @param hingeTarget For a correction (benign labels only, τ known): the logit the first `nHinge` rows must
 *   get under (`logit τ − margin`), by a squared hinge instead of the logistic loss, with the sparse
 *   residual kept at most 0 (a correction only lowers); `null`: logistic.
 * @param nHinge How many rows (the first) the hinge applies to.
 */
export function fitResidual(
  g: Float64Array,
  novelty: Float32Array | null,
  a0: ArrayLike<number> | null,
  features: readonly ResidualFeatures[],
  ys: ArrayLike<number>,
  rowWeights: Float64Array,
  bothClasses: boolean,
  config: ResidualConfig,
  hingeTarget: number | null = null,
  nHinge = 0,
): Residual {
  const n = g.length, N = a0 ? a0.length : 0;
  const D = features.length > 0 ? features[0].dense.length : 0;
  // One sparse matrix over the features the examples touch: hashed features in a local index space
  // (columns 0..P-1 in order of first appearance, `keys` maps them back), then the dense block (columns
  // P..P+D-1), zeros left out. Hashed indices are below the spec's `dim` (at most `MAX_DIM`), so the map back
  // is a typed array.
  let nnzAll = 0, maxIndex = -1;
  for (const f of features) {
    const nnz = f.nnz ?? f.indices.length;
    nnzAll += nnz + D;
    for (let k = 0; k < nnz; k++) {
      const j = f.indices[k];
      if (!(j >= 0 && j < MAX_DIM) || j !== Math.floor(j)) {
        throw new RangeError(`feature index ${j} out of range`);
      }
      if (j > maxIndex) maxIndex = j;
    }
  }
  const local = new Int32Array(maxIndex + 1).fill(-1);
  const keys: number[] = [];
  const colOf = new Int32Array(nnzAll), valOf = new Float64Array(nnzAll), ptr = new Int32Array(n + 1);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const f = features[i], nnz = f.nnz ?? f.indices.length;
    for (let k = 0; k < nnz; k++) {
      const j = f.indices[k];
      let c = local[j];
      if (c < 0) {
        c = local[j] = keys.length;
        keys.push(j);
      }
      colOf[at] = c;
      valOf[at++] = f.values[k];
    }
    ptr[i + 1] = at;
  }
  const P = keys.length;
  // The dense columns go after the hashed ones: re-walk, appending each row's non-zero dense values.
  const col2 = new Int32Array(nnzAll), val2 = new Float64Array(nnzAll), ptr2 = new Int32Array(n + 1);
  at = 0;
  for (let i = 0; i < n; i++) {
    for (let p = ptr[i]; p < ptr[i + 1]; p++) col2[at] = colOf[p], val2[at++] = valOf[p];
    const d = features[i].dense;
    for (let j = 0; j < D; j++) if (d[j] !== 0) col2[at] = P + j, val2[at++] = d[j];
    ptr2[i + 1] = at;
  }
  const C = P + D;
  const theta = new Float64Array(C), grad = new Float64Array(C), shrinkOf = new Float64Array(C);
  const nov = novelty ?? new Float32Array(0);
  const a = new Float64Array(N),
    ga = new Float64Array(N),
    c0 = new Float64Array(N),
    prevA = new Float64Array(N);
  for (let k = 0; k < N; k++) a[k] = c0[k] = Math.max(0, a0![k]);
  prevA.set(a);
  let alpha = 1, beta = 0;
  // α's gradient scales with the global logits: its step is normalised by their mean square.
  let g2 = 0;
  for (let i = 0; i < n; i++) g2 += g[i] * g[i];
  // A correction's squared hinge, unlike the logistic loss, has no bounded curvature: many copies of one
  // request (a false positive logged over and over) can make a step of `lr` overshoot its target by tens of
  // logits, and the contrasts then pull it back above τ. Its step stays under 1/L, L the largest eigenvalue
  // of the rows' curvature Σ c_i·x_i·x_iᵀ (c_i: the row's weight for a hinge row, a quarter of it for a
  // logistic one), by a few power iterations; again whenever the weights escalate (below).
  const curvature = (weights: ArrayLike<number>): number => {
    const v = new Float64Array(C).fill(1 / Math.sqrt(Math.max(1, C))), u = new Float64Array(C);
    let lambda = 0;
    for (let it = 0; it < 12; it++) {
      u.fill(0);
      for (let i = 0; i < n; i++) {
        let xv = 0;
        for (let p = ptr2[i]; p < ptr2[i + 1]; p++) xv += val2[p] * v[col2[p]];
        const c = (i < nHinge ? weights[i] : weights[i] / 4) * xv;
        for (let p = ptr2[i]; p < ptr2[i + 1]; p++) u[col2[p]] += c * val2[p];
      }
      let norm = 0;
      for (let p = 0; p < C; p++) norm += u[p] * u[p];
      norm = Math.sqrt(norm);
      if (!(norm > 0)) return 0;
      lambda = norm;
      for (let p = 0; p < C; p++) v[p] = u[p] / norm;
    }
    return lambda;
  };
  // Proximal steps: a gradient step on the loss, then the prior's exact shrinkage toward its centre (stable
  // for any prior strength).
  let lr = config.lr;
  const setStep = (weights: ArrayLike<number>) => {
    if (hingeTarget !== null) lr = Math.min(config.lr, 1 / Math.max(1e-12, 1.2 * curvature(weights)));
    shrinkOf.fill(1 / (1 + lr * config.l2), 0, P);
    shrinkOf.fill(1 / (1 + lr * config.l2Dense), P, C);
  };
  setStep(rowWeights);
  const lrAlpha = lr / (1 + g2 / Math.max(1, n));
  // With one class only, the dense block (method, lengths, counts: features every request has) would act as
  // a bias and move the whole site's scores; it is kept at zero like β.
  const C1 = bothClasses ? C : P;
  const shrinkA = 1 / (1 + lr * config.l2Novelty);
  // Accelerated (FISTA): each step is taken from an extrapolation of the last two iterates.
  const prev = new Float64Array(C);
  let prevAlpha = alpha, prevBeta = beta, tk = 1;
  // A correction's weights escalate (`escalate`) on a copy: the caller's row weights stay as given.
  const escalate = hingeTarget !== null && (config.escalate ?? 0) > 0 ? config.escalate! : 0;
  const w = escalate > 0 ? Float64Array.from(rowWeights) : rowWeights;
  // A correction that has not brought every uploaded request under τ by its last step goes on, escalating, for
  // at most OVERTIME_ESCALATIONS more rounds of `escalate` steps, until each is at least half a margin under τ
  // (slack for the weights' float32 rounding and the top-`maxWeights` cut). A request logged over and over
  // beside attack copies of itself can otherwise stop a hair above τ.
  const maxSteps = config.steps + (escalate > 0 ? OVERTIME_ESCALATIONS * escalate : 0);
  for (let t = 0; t < maxSteps; t++) {
    const overtime = t >= config.steps;
    if (escalate > 0 && t > 0 && (overtime ? t - config.steps : t) % escalate === 0) {
      const limit = hingeTarget! + (overtime ? config.margin / 2 : config.margin);
      let raised = false;
      for (let i = 0; i < Math.min(nHinge, n); i++) {
        let s = alpha * g[i] + beta;
        for (let k = 0; k < N; k++) s += a[k] * nov[i * N + k];
        for (let p = ptr2[i]; p < ptr2[i + 1]; p++) s += theta[col2[p]] * val2[p];
        if (s >= limit) w[i] *= 2, raised = true;
      }
      if (overtime && !raised) break;
      if (raised) tk = 1, prev.set(theta), setStep(w);
    }
    const tNext = (1 + Math.sqrt(1 + 4 * tk * tk)) / 2, mom = (tk - 1) / tNext;
    tk = tNext;
    for (let p = 0; p < C; p++) {
      const x = theta[p];
      theta[p] = x + mom * (x - prev[p]);
      prev[p] = x;
    }
    for (let k = 0; k < N; k++) {
      const x = a[k];
      a[k] = Math.max(0, x + mom * (x - prevA[k]));
      prevA[k] = x;
    }
    {
      const x = alpha, y = beta;
      alpha = Math.max(0, x + mom * (x - prevAlpha));
      beta = y + mom * (y - prevBeta);
      prevAlpha = x, prevBeta = y;
    }
    grad.fill(0);
    ga.fill(0);
    let galpha = 0, gbeta = 0;
    for (let i = 0; i < n; i++) {
      let s = alpha * g[i] + beta;
      const oN = i * N, p0 = ptr2[i], p1 = ptr2[i + 1];
      for (let k = 0; k < N; k++) s += a[k] * nov[oN + k];
      for (let p = p0; p < p1; p++) s += theta[col2[p]] * val2[p];
      const y = ys[i];
      // A correction row (benign, with a target) pays a squared hinge above its target and nothing below it:
      // the smallest residual that brings it there. Every other row pays the logistic loss.
      const e = i < nHinge && hingeTarget !== null
        ? w[i] * Math.max(0, s - hingeTarget)
        : w[i] * (sigma(s) - y);
      galpha += e * g[i];
      gbeta += e;
      for (let k = 0; k < N; k++) ga[k] += e * nov[oN + k];
      for (let p = p0; p < p1; p++) grad[col2[p]] += e * val2[p];
    }
    for (let p = 0; p < C1; p++) theta[p] = (theta[p] - lr * grad[p]) * shrinkOf[p];
    // A correction only lowers: its sparse weights stay at most 0, so its contrasts and anchors can hold a
    // shared feature where it is, never raise it (which would raise the site's other requests).
    if (hingeTarget !== null) { for (let p = 0; p < P; p++) if (theta[p] > 0) theta[p] = 0; }
    if (bothClasses) {
      // How much novelty weighs is learnt from both classes only: a one-class upload (a correction of false
      // positives) keeps the weights, so it cannot switch off what tells tampering on the site.
      for (let k = 0; k < N; k++) {
        a[k] = c0[k] + (a[k] - lr * ga[k] - c0[k]) * shrinkA;
        if (a[k] < 0) a[k] = 0; // novelty may only raise a score
      }
      alpha = 1 + (alpha - lrAlpha * galpha - 1) / (1 + lrAlpha * config.l2Scale);
      if (alpha < 0) alpha = 0; // the labels may distrust the global head, never invert it
      beta = (beta - lr * gbeta) / (1 + lr * config.l2Scale);
    }
  }
  // The final objective: each row's loss (as fitted) plus the priors.
  let loss = 0;
  for (let i = 0; i < n; i++) {
    let s = alpha * g[i] + beta;
    for (let k = 0; k < N; k++) s += a[k] * nov[i * N + k];
    for (let p = ptr2[i]; p < ptr2[i + 1]; p++) s += theta[col2[p]] * val2[p];
    loss += rowWeights[i] *
      (i < nHinge && hingeTarget !== null
        ? Math.max(0, s - hingeTarget) ** 2 / 2
        : (s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s))) - ys[i] * s);
  }
  for (let p = 0; p < C; p++) loss += (p < P ? config.l2 : config.l2Dense) * theta[p] * theta[p] / 2;
  for (let k = 0; k < N; k++) loss += config.l2Novelty * (a[k] - c0[k]) ** 2 / 2;
  loss += config.l2Scale * ((alpha - 1) ** 2 + beta * beta) / 2;
  const r = theta.subarray(0, P), rd = theta.subarray(P, C);
  const ri = topWeights(r, keys, config.maxWeights), rv = new Float32Array(ri.length);
  for (let k = 0; k < ri.length; k++) rv[k] = r[local[ri[k]]];
  // A correction whose fit needed more weights than a head keeps can leave an uploaded request at τ once the
  // smallest are dropped (on a real site, `sitefp`: one of thomasbieniek's 29 uploaded requests, 0.3245 against
  // its τ 0.311). Then it is fitted again on the kept weights' features alone, which the head can hold in full
  // (once: that fit has at most `maxWeights` weights to keep, so it is not cut).
  if (hingeTarget !== null && ri.length < countNonZero(r)) {
    const kept = new Uint8Array(P);
    for (let k = 0; k < ri.length; k++) kept[local[ri[k]]] = 1;
    const limit = hingeTarget + config.margin / 2;
    let flagged = false;
    for (let i = 0; i < Math.min(nHinge, n) && !flagged; i++) {
      let s = alpha * g[i] + beta;
      for (let k = 0; k < N; k++) s += a[k] * nov[i * N + k];
      for (let q = ptr2[i]; q < ptr2[i + 1]; q++) {
        const c = col2[q];
        if (c >= P || kept[c] === 1) s += theta[c] * val2[q];
      }
      flagged = s >= limit;
    }
    if (flagged) {
      const keptKeys = new Set(ri);
      const narrowed = features.map((f) => keptFeatures(f, keptKeys));
      return fitResidual(g, novelty, a0, narrowed, ys, rowWeights, bothClasses, config, hingeTarget, nHinge);
    }
  }
  return { alpha, beta, a: N > 0 ? a : null, ri, rv, rd: Float32Array.from(rd), loss };
}

function countNonZero(r: Float64Array): number {
  let c = 0;
  for (let p = 0; p < r.length; p++) if (r[p] !== 0) c++;
  return c;
}

/** A request's features with only the hashed features in `keep` (the dense block as it is). */
function keptFeatures(f: ResidualFeatures, keep: ReadonlySet<number>): ResidualFeatures {
  const nnz = f.nnz ?? f.indices.length, indices: number[] = [], values: number[] = [];
  for (let k = 0; k < nnz; k++) {
    if (keep.has(f.indices[k])) indices.push(f.indices[k]), values.push(f.values[k]);
  }
  return { indices: Int32Array.from(indices), values: Float32Array.from(values), dense: f.dense };
}

/**
 * The indices (`keys[p]`, sorted) of the `max` largest non-zero weights `r[p]` by magnitude; among equal
 * magnitudes the earlier column wins (as a stable sort by magnitude would keep it). Native typed-array sorts
 * only: the threshold is the `max`-th largest magnitude.
 */
export function topWeights(r: Float64Array, keys: readonly number[], max: number): Int32Array {
  const P = r.length, mag = new Float64Array(P);
  let nonZero = 0;
  for (let p = 0; p < P; p++) if (r[p] !== 0) mag[nonZero++] = Math.abs(r[p]);
  const take = Math.min(max, nonZero);
  const out = new Int32Array(take);
  if (take === 0) return out;
  // The threshold and how many of its ties still fit.
  const sorted = mag.subarray(0, nonZero).sort();
  const thr = sorted[nonZero - take];
  let ties = 0;
  for (let k = nonZero - take; k < nonZero && sorted[k] === thr; k++) ties++;
  let o = 0;
  for (let p = 0; p < P && o < take; p++) {
    const m = Math.abs(r[p]);
    if (r[p] === 0 || m < thr) continue;
    if (m === thr) {
      if (ties === 0) continue;
      ties--;
    }
    out[o++] = keys[p];
  }
  return out.sort();
}
