/**
 * Why a request scored as it did: gradient × input of the head's logit through the backbone (a plain
 * forward and backward pass over the model's float32 weights), for each non-zero input, with hashed
 * buckets named by the extractor's trace and dense inputs by `DENSE_NAMES`. It is a first-order account: the
 * contributions sum to the logit's change from an all-zero input only for a linear model. A head with a site
 * profile adds its novelty term `a·n` exactly, one entry per kind of structure token the site has not seen
 * ("new parameter for this site: key:is_admin"), with the tokens named from the trace where it can.
 *
 * @module
 */
import { DENSE_NAMES, FEATURE_SPEC, type FeatureTrace, type FeatureVector } from "../features/mod.ts";
import {
  ofShape,
  residualApplies,
  residualGate,
  residualLogit,
  residualWeight,
  type ShapeFeatures,
} from "../heads/residual.ts";
import { NOVELTY_DIM, NOVELTY_NAMES, profileHas } from "../heads/site_profile.ts";
import { VALUE_DIM, VALUE_NAMES, valueBreaks } from "../heads/value_profile.ts";
import type { BackboneWeights, HeadParams } from "../model/types.ts";

/** One input's share of the logit. */
export interface Contribution {
  /**
   * What the input is: the extractor's names of a bucket (joined by ` | ` when several share it),
   * `dense:<name>`, or (`site`) what the site has not seen, e.g. `new parameter for this site: key:debug`.
   */
  feature: string;
  /** `sparse`: a hashed bucket; `dense`: a structural number; `site`: the site profile's novelty term. */
  kind: "sparse" | "dense" | "site";
  /** The input's value (`site`: the number of tokens of that kind the site has not seen). */
  value: number;
  /** `value × ∂logit/∂value`: positive pushes toward "attack". */
  contribution: number;
}

/** An explanation: the logit and the inputs that moved it most. */
export interface Explanation {
  /** The head's logit for the request (its score is `σ(logit)`). */
  logit: number;
  /** The `top` inputs by |contribution|, largest first. */
  top: Contribution[];
}

const MAX_NAMES = 3;

/**
 * Explains a head's logit for one request.
 *
 * @param weights The backbone's float32 weights (`TsEngine.weights`, or `readModelOnnx(bytes).weights`).
 * @param head The head that scores the request.
 * @param f The request's features (for an overflow view, with its request's listed values in `of`: `ofShape`).
 * @param trace The bucket names filled by `featuresOfRecord(rec, spec, trace)`.
 * @param top How many inputs to return.
 * @returns The logit (float64, within float32 rounding of the engines') and the top contributions.
 * @example
 * ```ts ignore
 * const trace = new Map();
 * const f = featuresOfRecord(record, FEATURE_SPEC, trace);
 * const { top } = explainLogit(engine.weights, head, f, trace, 8);
 * ```
 */
export function explainLogit(
  weights: BackboneWeights,
  head: HeadParams,
  f: FeatureVector & ShapeFeatures,
  trace: FeatureTrace,
  top = 8,
): Explanation {
  const { hidden: H, W1, Wd, b1, layers, denseDim: Dd } = weights;
  const nnz = f.indices.length;
  // Forward, keeping every layer's output (the backward pass needs them).
  const pre1 = new Float64Array(H);
  for (let j = 0; j < H; j++) pre1[j] = b1[j];
  for (let k = 0; k < nnz; k++) {
    const v = f.values[k], base = f.indices[k] * H;
    if (v !== 0) { for (let j = 0; j < H; j++) pre1[j] += v * W1[base + j]; }
  }
  for (let i = 0; i < Dd; i++) {
    const v = f.dense[i], base = i * H;
    if (v !== 0) { for (let j = 0; j < H; j++) pre1[j] += v * Wd[base + j]; }
  }
  const outs: Float64Array[] = [pre1.map((x) => (x > 0 ? x : 0))];
  for (const l of layers) {
    const x = outs[outs.length - 1], y = new Float64Array(l.outDim);
    for (let j = 0; j < l.outDim; j++) y[j] = l.b[j];
    for (let i = 0; i < l.inDim; i++) {
      const v = x[i], base = i * l.outDim;
      if (v !== 0) { for (let j = 0; j < l.outDim; j++) y[j] += v * l.W[base + j]; }
    }
    for (let j = 0; j < l.outDim; j++) {
      y[j] = l.activation === "relu" ? Math.max(0, y[j]) : l.activation === "tanh" ? Math.tanh(y[j]) : y[j];
    }
    outs.push(y);
  }
  const z = outs[outs.length - 1], Z = z.length;

  // The logit and ∂logit/∂z; the novelty term does not depend on z.
  let logit = head.b;
  const g = new Float64Array(Z);
  for (let j = 0; j < Z; j++) logit += head.w[j] * z[j], g[j] = head.w[j];
  // A correction limited to its endpoints (`re`) adds nothing to a request of another endpoint, and on them
  // as much as the request is made of the corrected requests' features (`rs`, `residualGate`).
  const gate = residualApplies(head.re, f.params) && ofShape(head.rp, f)
    ? residualGate(head.rs, head.rg, f, head.rb)
    : 0;
  const applies = gate > 0;
  const site = siteContributions(head, f, trace);
  for (const c of site) logit += c.contribution;
  // A tenant head's residual adds its own weight to each feature's contribution (linear, exact).
  if (applies) logit += gate * residualLogit(head.ri, head.rv, head.rd, f);

  // Backward through the layers, then into the first layer's pre-activation.
  let gy: Float64Array = g;
  for (let li = layers.length - 1; li >= 0; li--) {
    const l = layers[li], y = outs[li + 1], x = outs[li];
    const gpre = new Float64Array(l.outDim);
    for (let j = 0; j < l.outDim; j++) {
      const d = l.activation === "relu" ? (y[j] > 0 ? 1 : 0) : l.activation === "tanh" ? 1 - y[j] * y[j] : 1;
      gpre[j] = gy[j] * d;
    }
    const gx = new Float64Array(l.inDim);
    for (let i = 0; i < l.inDim; i++) {
      if (x[i] === 0 && li === 0) continue; // relu's zeros pass no gradient on anyway
      let s = 0;
      const base = i * l.outDim;
      for (let j = 0; j < l.outDim; j++) s += l.W[base + j] * gpre[j];
      gx[i] = s;
    }
    gy = gx;
  }
  const g1 = new Float64Array(H);
  for (let j = 0; j < H; j++) g1[j] = pre1[j] > 0 ? gy[j] : 0;

  const all: Contribution[] = [];
  for (let k = 0; k < nnz; k++) {
    const v = f.values[k];
    if (v === 0) continue;
    const bucket = f.indices[k], base = bucket * H;
    let s = 0;
    for (let j = 0; j < H; j++) s += W1[base + j] * g1[j];
    if (applies) s += gate * residualWeight(head.ri, head.rv, bucket);
    const names = trace.get(bucket);
    const feature = names && names.length > 0
      ? names.slice(0, MAX_NAMES).join(" | ") +
        (names.length > MAX_NAMES ? ` | +${names.length - MAX_NAMES}` : "")
      : `bucket:${bucket}`;
    all.push({ feature, kind: "sparse", value: v, contribution: v * s });
  }
  for (let i = 0; i < Dd; i++) {
    const v = f.dense[i];
    if (v === 0) continue;
    const base = i * H;
    let s = 0;
    for (let j = 0; j < H; j++) s += Wd[base + j] * g1[j];
    if (applies && head.rd !== undefined && i < head.rd.length) s += gate * head.rd[i];
    all.push({ feature: `dense:${DENSE_NAMES[i] ?? i}`, kind: "dense", value: v, contribution: v * s });
  }
  all.push(...site);
  all.sort((p, q) => Math.abs(q.contribution) - Math.abs(p.contribution));
  return { logit, top: all.slice(0, Math.max(0, top)) };
}

/** Trace prefixes of the structure-token kinds (by kind; cookie names are traced as keys). */
const KIND_PREFIX = ["method:", "pshape:", "ext:", "key:", "kvshape:", "hname:", "key:", "bodykind:"];

/**
 * The novelty term of a head with a site profile, one contribution per kind with novel tokens (computed as
 * `scoreWithHead` does: `a_k · weight · log1p(count_k)`, float32 features), and its value profile's, one per
 * kind of break.
 */
function siteContributions(head: HeadParams, f: FeatureVector, trace: FeatureTrace): Contribution[] {
  const { a, profile } = head;
  if (!a || !profile) return [];
  const names: string[][] = Array.from({ length: NOVELTY_DIM }, () => []);
  const counts = new Int32Array(NOVELTY_DIM);
  const high = (FEATURE_SPEC.dim - 1) >>> 4;
  for (const t of f.structure) {
    if (profileHas(profile, t)) continue;
    const k = (t >>> 28) & 7;
    counts[k]++;
    // The token keeps the hash above its low 4 bits: its bucket is one of 16, named by the trace.
    const base = ((t & 0x0fffffff) & high) << 4;
    for (let j = 0; j < 16 && names[k].length < MAX_NAMES; j++) {
      const got = trace.get(base | j)?.find((n) => n.startsWith(KIND_PREFIX[k]));
      if (got !== undefined && !names[k].includes(got)) {
        names[k].push(got);
        break;
      }
    }
  }
  const out: Contribution[] = [];
  const x = new Float32Array(1);
  for (let k = 0; k < NOVELTY_DIM; k++) {
    if (counts[k] === 0) continue;
    x[0] = profile.weight * Math.log1p(counts[k]);
    out.push({
      feature: NOVELTY_NAMES[k] + (names[k].length > 0 ? `: ${names[k].join(", ")}` : ""),
      kind: "site",
      value: counts[k],
      contribution: a[k] * x[0],
    });
  }
  const { av, values } = head;
  if (av && values) {
    const breaks = valueBreaks(values, f.params, f.params.length, false);
    for (let k = 0; k < VALUE_DIM; k++) {
      if (breaks[k] === 0) continue;
      x[0] = profile.weight * Math.log1p(breaks[k]);
      out.push({ feature: VALUE_NAMES[k], kind: "site", value: breaks[k], contribution: av[k] * x[0] });
    }
  }
  return out;
}
