/**
 * Head adaptation: a tenant's head is fitted from the model's meta-learned init on the tenant's few labelled
 * requests, by a few gradient steps on a class-balanced logistic loss with a proximal pull toward the init
 * (`λ/2·‖θ − θ₀‖²`), so a handful of examples moves the head only as far as they justify.
 *
 * With a site-profile config (`config.profile`), the tenant's benign examples and unlabelled traffic also give
 * the site's structural profile (`site_profile.ts`), and the head is logistic on `[z; n]`, `n` the request's
 * novelty features against it: `score = σ(w·z + b + a·n)`. A labelled benign example's novelty is computed
 * without its own tokens (it must not vouch for itself), as a new request of the site would be scored; the
 * novelty weights `a` start from the meta-learned `a₀` and stay non-negative (novelty may only raise a score,
 * so a poisoned upload cannot teach the head that unusual means safe). The worker and `deno task eval` both
 * call `adaptHead`; meta-training runs the same steps (`fitHead`) on the same inputs.
 *
 * Plain TypeScript, deterministic, no allocation per step.
 *
 * @example
 * ```ts
 * import { adaptHead } from "./adapt.ts";
 * const init = { w: new Float32Array([1, -1]), b: 0 };
 * const examples = [{ z: new Float32Array([0.2, 0.9]), label: 0 as const }];
 * const { head } = adaptHead(init, examples, { method: "gd", steps: 20, lr: 0.5, prox: 1 });
 * console.log(head.b < 0);
 * ```
 * @module
 */
import { logit, sigmoid as sigma } from "../util/math.ts";
import type { HeadParams } from "../model/types.ts";
import {
  minCountFor,
  NOVELTY_DIM,
  noveltyOfCounts,
  profileWeight,
  type SiteProfileConfig,
  siteProfileOf,
  TokenCounts,
} from "./site_profile.ts";
import { logitWithHead } from "./score.ts";
import {
  correctionBounds,
  correctionShape,
  fitResidual,
  MAX_ANCHORS,
  MAX_CORRECTION_ENDPOINTS,
  type ResidualConfig,
  supportBitmap,
} from "./residual.ts";
import { FEATURE_SPEC } from "../features/spec.ts";
import { VALUE_DIM, valueFeatures, ValueProfile, type ValueProfileConfig } from "./value_profile.ts";
import type { HeadFeatures } from "./score.ts";

/** How a head is adapted; shipped in the model's meta (`meta.adapt`) so the worker fits heads as eval did. */
export interface AdaptConfig {
  /** `gd`: gradient steps from the init; `proto`: the init plus a prototype (class-mean) direction. */
  method: "gd" | "proto";
  /** Gradient steps (`gd`). */
  steps: number;
  /** Step size (`gd`). */
  lr: number;
  /** λ, the proximal pull toward the init (`gd`). */
  prox: number;
  /** Scale of the prototype direction (`proto`). */
  protoScale?: number;
  /** The site profile (with the meta-learned `a₀`); absent: the head sees z alone. */
  profile?: SiteProfileConfig;
  /**
   * The value profile (site profile v3: per endpoint and parameter, what its values look like), with the
   * profile: its five features join the novelty features, with their own `a₀`. Residual heads only.
   */
  values?: ValueProfileConfig;
  /**
   * The residual over the request's own features (`residual.ts`): when set, and every labelled example
   * carries its features, the head is the global head scaled by the labels' trust in it plus a sparse
   * residual (and the novelty term); `method`, `steps`, `lr` and `prox` are then unused.
   */
  residual?: ResidualConfig;
}

/** One labelled example: an embedding, its label (1 = attack) and its structure tokens (for the profile). */
export interface HeadExample {
  /** The request's embedding by the backbone (length `meta.embedDim`). */
  z: Float32Array;
  /** 1 = attack, 0 = benign. */
  label: 0 | 1;
  /** Its structure tokens (`FeatureVector.structure`); needed only with a site profile (`config.profile`). */
  structure?: ArrayLike<number>;
  /** The request's features (for the residual; their `params` for the value profile). */
  features?: HeadFeatures;
}

/** A request of the tenant's unlabelled traffic: only its structure tokens are used (for the profile). */
export interface UnlabeledRequest {
  /** Its embedding, when the caller has it; `adaptHead` does not read it. */
  z?: Float32Array;
  /** Its structure tokens (`FeatureVector.structure`), counted into the site profile. */
  structure: ArrayLike<number>;
  /** Its listed parameter values (`FeatureVector.params`), counted into the value profile. */
  params?: ArrayLike<number>;
}

/** A known attack fitted beside a tenant's labels (a canary of the model, with its features). */
export interface Anchor {
  /** The attack's embedding by the backbone. */
  z: Float32Array;
  /** The attack's features, which the residual is fitted on. */
  features: HeadFeatures;
}

/** Inputs besides the labelled examples. */
export interface AdaptOptions {
  /** The tenant's unlabelled traffic (a few may be attacks). */
  unlabeled?: readonly UnlabeledRequest[];
  /** Known attacks for the residual's anchors (`ResidualConfig.anchors`): the model's canaries. */
  anchors?: readonly Anchor[];
  /**
   * The τ the head will be used with before its change of scale (the worker's, or the tenant's own): with it,
   * an upload of benign requests only is fitted as a correction, bringing each just under τ
   * (`ResidualConfig.margin`).
   */
  tau?: number;
  /**
   * For a correction (benign labels only, `tau` given): attack copies of the uploaded requests
   * (`contrast.ts`), featurised and embedded, fitted as attacks with the upload's weight.
   */
  contrasts?: readonly Anchor[];
}

/** At most `max` anchors, evenly spread over the list (deterministic). */
export function pickAnchors<T>(all: readonly T[], max: number): T[] {
  if (all.length <= max) return [...all];
  return Array.from({ length: max }, (_, k) => all[Math.floor((k * all.length) / max)]);
}

/** The result of an adaptation. */
export interface AdaptResult {
  head: HeadParams;
  /** Gradient steps taken. */
  steps: number;
  /** The final objective (balanced logistic loss plus the proximal term). */
  loss: number;
  /**
   * A residual head's trust in the global head: its logit is `alpha·(global logit) + beta + residual`, so the
   * worker's τ maps to the head's scale exactly (`residualTau`). Absent for other heads.
   */
  trust?: { alpha: number; beta: number };
}

/**
 * The τ of a residual head: the worker's τ carried through the head's change of scale, `σ(α·logit(τ) + β)`.
 * A request the global head scores exactly at τ, with nothing of the tenant's in it, is still exactly at the
 * head's τ; a one-class upload (α = 1, β = 0) keeps the worker's τ.
 *
 * @param trust The head's α and β (`AdaptResult.trust`).
 * @param globalTau The worker's τ, in (0, 1).
 * @returns τ in [0, 1].
 */
export function residualTau(trust: { alpha: number; beta: number }, globalTau: number): number {
  if (trust.alpha === 1 && trust.beta === 0) return globalTau;
  const t = Math.min(Math.max(globalTau, 1e-12), 1 - 1e-12);
  return sigma(trust.alpha * logit(t) + trust.beta);
}

/** The head's inputs for labelled examples (see `headInputs`). */
export interface HeadInputs {
  /** `[n][F]`: z, then the novelty features when there is a profile. */
  X: Float32Array;
  /** Z, or Z + `NOVELTY_DIM` (+ `VALUE_DIM` with a value profile). */
  F: number;
  /** The exact token counts of the profile (`null`: no profile). */
  counts: TokenCounts | null;
  /** The exact value profile (`null`: none). */
  values: ValueProfile | null;
  minCount: number;
  weight: number;
}

/**
 * The head's inputs: `[z; n]` with `n` the novelty features against the profile of the benign examples and
 * the unlabelled traffic (benign examples leave-one-out), or z alone without a profile config or without
 * any request to build a profile from.
 *
 * @param zs Labelled embeddings `[n][Z]`.
 * @param ys Labels.
 * @param n Count.
 * @param Z Embedding width.
 * @param structures The labelled examples' structure tokens (`undefined`: none known).
 * @param unlabeled The unlabelled requests' structure tokens.
 * @param config The profile config, if any.
 * @param values The value profile's config and the requests' listed values (labelled, then unlabelled), if
 *   any: then the inputs also hold the value features (benign examples leave-one-out).
 */
export function headInputs(
  zs: Float32Array,
  ys: ArrayLike<number>,
  n: number,
  Z: number,
  structures: readonly (ArrayLike<number> | undefined)[],
  unlabeled: readonly ArrayLike<number>[],
  config: SiteProfileConfig | undefined,
  values?: {
    config: ValueProfileConfig;
    labelled: readonly (ArrayLike<number> | undefined)[];
    unlabeled: readonly (ArrayLike<number> | undefined)[];
  },
): HeadInputs {
  let counts: TokenCounts | null = null;
  if (config) {
    counts = new TokenCounts();
    for (let i = 0; i < n; i++) {
      const s = structures[i];
      if (ys[i] === 0 && s) counts.add(s);
    }
    for (const s of unlabeled) counts.add(s);
    if (counts.requests === 0) counts = null;
  }
  if (!counts || !config) {
    return { X: zs.subarray(0, n * Z), F: Z, counts: null, values: null, minCount: 0, weight: 0 };
  }
  let vp: ValueProfile | null = null;
  if (values) {
    vp = new ValueProfile(values.config);
    for (let i = 0; i < n; i++) if (ys[i] === 0 && structures[i]) vp.add(values.labelled[i] ?? EMPTY);
    for (const p of values.unlabeled) vp.add(p ?? EMPTY);
  }
  const F = Z + NOVELTY_DIM + (vp ? VALUE_DIM : 0), X = new Float32Array(n * F);
  const minCount = minCountFor(config, counts.requests), weight = profileWeight(config, counts.requests);
  for (let i = 0; i < n; i++) {
    X.set(zs.subarray(i * Z, (i + 1) * Z), i * F);
    const s = structures[i], self = ys[i] === 0 && s !== undefined;
    noveltyOfCounts(counts, s ?? EMPTY, minCount, weight, self, X, i * F + Z);
    if (vp) valueFeatures(vp, values!.labelled[i] ?? EMPTY, weight, self, X, i * F + Z + NOVELTY_DIM);
  }
  return { X, F, counts, values: vp, minCount, weight };
}

const EMPTY = new Int32Array(0);

/**
 * Adapts a head to labelled examples. Benign-only examples are fine (the common upload: "these were my false
 * positives"); no examples and no unlabelled traffic return the init; unlabelled traffic alone gives the init
 * with the site's profile (and `a₀`).
 *
 * @param init The head to start from (the model's global head, `meta.head`).
 * @param examples Labelled embeddings (from `engine.embed`) with their structure tokens.
 * @param config The adaptation settings (`meta.adapt`).
 * @param options The tenant's unlabelled traffic, for the site profile.
 * @returns The adapted head (with `a` and `profile` when a profile was built), the steps and the final loss.
 * @throws {RangeError} when an embedding's length differs from the head's.
 */
export function adaptHead(
  init: HeadParams,
  examples: readonly HeadExample[],
  config: AdaptConfig,
  options: AdaptOptions = {},
): AdaptResult {
  const Z = init.w.length, n = examples.length;
  const zs = new Float32Array(n * Z), ys = new Uint8Array(n);
  const structures: (ArrayLike<number> | undefined)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const e = examples[i];
    if (e.z.length !== Z) {
      throw new RangeError(`embedding ${i} has ${e.z.length} dimensions, the head ${Z}`);
    }
    zs.set(e.z, i * Z);
    ys[i] = e.label === 1 ? 1 : 0;
    structures[i] = e.structure;
  }
  const unlabeled = (options.unlabeled ?? []).map((u) => u.structure);
  const residual = config.residual !== undefined && n > 0 && examples.every((e) => e.features !== undefined);
  // A correction without the site's traffic gets no site profile: a profile of its false positives alone
  // would call every other request of the site novel and raise it (on a real site, `sitefp --folds 1,2
  // --quantile 0.999`, an upload of 3 false positives raised its other traffic's block rate 0.4 % → 18.8 %).
  const profile = residual && isCorrection(ys, config.residual!, options.tau) && unlabeled.length === 0
    ? undefined
    : config.profile;
  const inputs = headInputs(
    zs,
    ys,
    n,
    Z,
    structures,
    unlabeled,
    profile,
    residual && profile && config.values
      ? {
        config: config.values,
        labelled: examples.map((e) => e.features?.params),
        unlabeled: (options.unlabeled ?? []).map((u) => u.params),
      }
      : undefined,
  );
  const { F, counts } = inputs;
  if (residual) {
    return adaptResidual(
      init,
      examples,
      config,
      config.residual!,
      inputs,
      ys,
      options.anchors ?? [],
      options.tau,
      options.contrasts ?? [],
    );
  }
  const theta0 = new Float64Array(F + 1);
  for (let j = 0; j < Z; j++) theta0[j] = init.w[j];
  if (counts) { for (let k = 0; k < NOVELTY_DIM; k++) theta0[Z + k] = Math.max(0, config.profile!.a0[k]); }
  theta0[F] = init.b;
  const theta = new Float64Array(F + 1);
  const nonNeg = counts ? { from: Z, to: F } : null;
  const fit = config.method === "proto"
    ? protoHead(theta0, inputs.X, ys, n, F, config.protoScale ?? 1, theta, nonNeg)
    : fitHead(theta0, inputs.X, ys, n, F, config, theta, null, nonNeg);
  const head: HeadParams = { w: Float32Array.from(theta.subarray(0, Z)), b: theta[F] };
  if (counts) {
    head.a = Float32Array.from(theta.subarray(Z, F));
    head.profile = siteProfileOf(counts, inputs.minCount, inputs.weight);
  }
  return { head, steps: fit.steps, loss: fit.loss };
}

/**
 * Whether an upload is a correction: benign labels only, with the τ the head is used with. A correction is
 * fitted as the smallest residual that brings each request just under τ, and it only lowers scores: its
 * residual weights are at most 0 (`fitResidual`), and without the site's unlabelled traffic it builds no
 * site profile, so no request of the site scores higher than under the global head.
 */
export function isCorrection(ys: ArrayLike<number>, rc: ResidualConfig, tau: number | undefined): boolean {
  if (ys.length === 0 || tau === undefined || !(tau > 0 && tau < 1) || !(rc.margin >= 0)) return false;
  for (let i = 0; i < ys.length; i++) if (ys[i] !== 0) return false;
  return true;
}

/** The residual head (see `residual.ts`): α and β folded into `w` and `b`. */
function adaptResidual(
  init: HeadParams,
  examples: readonly HeadExample[],
  config: AdaptConfig,
  rc: ResidualConfig,
  inputs: HeadInputs,
  ys: Uint8Array,
  anchorsIn: readonly Anchor[],
  tau: number | undefined,
  contrastsIn: readonly Anchor[],
): AdaptResult {
  const Z = init.w.length, n = examples.length, { F, counts } = inputs;
  const g = new Float64Array(n);
  for (let i = 0; i < n; i++) g[i] = logitWithHead(init, examples[i].z);
  // The novelty features, then the value features (with a value profile).
  const N = F - Z;
  let novelty: Float32Array | null = null;
  if (counts) {
    novelty = new Float32Array(n * N);
    for (let i = 0; i < n; i++) novelty.set(inputs.X.subarray(i * F + Z, (i + 1) * F), i * N);
  }
  const weights = classWeights(ys, n);
  const correction = isCorrection(ys, rc, tau);
  // The anchors (known attacks) follow the tenant's examples, as attacks without novelty.
  const canaries = pickAnchors(rc.anchors > 0 ? anchorsIn : [], MAX_ANCHORS);
  // A correction's contrasts (attack copies of the uploaded requests), weighing `contrast` against the upload.
  const contrasts = correction ? contrastsIn : [];
  const anchors = [...canaries, ...contrasts];
  const anchorWeight = (k: number) =>
    k < canaries.length ? rc.anchors / canaries.length : (rc.contrast ?? 1) / contrasts.length;
  const m = n + anchors.length;
  const gAll = new Float64Array(m), yAll = new Uint8Array(m), rowWeights = new Float64Array(m);
  gAll.set(g);
  yAll.set(ys);
  for (let i = 0; i < n; i++) rowWeights[i] = weights[ys[i]];
  anchors.forEach((c, k) => {
    gAll[n + k] = logitWithHead(init, c.z);
    yAll[n + k] = 1;
    rowWeights[n + k] = anchorWeight(k);
  });
  let noveltyAll = novelty;
  if (novelty && anchors.length > 0) {
    noveltyAll = new Float32Array(m * N);
    noveltyAll.set(novelty);
  }
  const a0 = counts ? [...config.profile!.a0, ...(inputs.values ? config.values!.a0 : [])] : null;
  // The novelty weights' prior, stronger for a small profile (`ResidualConfig.noveltyFrom`).
  const R = counts?.requests ?? 0;
  const rcFit = rc.noveltyFrom && R > 0
    ? { ...rc, l2Novelty: rc.l2Novelty * Math.max(1, rc.noveltyFrom / R) }
    : rc;
  // A correction applies to the upload's endpoints only (`ResidualConfig.endpoints`): their sorted hashes. It
  // is fitted as any correction, the anchors and contrasts included, as if they came to those endpoints.
  // (An upload of more endpoints than a head may list, or without them, corrects everywhere, as before.)
  let re = correction && rc.endpoints && examples.every((e) => (e.features!.params?.length ?? 0) > 0)
    ? Int32Array.from(new Set(examples.map((e) => e.features!.params![0] | 0))).sort()
    : undefined;
  if (re !== undefined && re.length > MAX_CORRECTION_ENDPOINTS) re = undefined;
  // A correction's support (`ResidualConfig.gate`): the uploaded requests' features. It scales the residual
  // at scoring only: the fit is the same with or without it (the uploaded requests' support is 1, and their
  // contrasts and the anchors hold the residual as if it applied to them in full, the stricter case).
  const gate = correction && rc.gate && rc.gate.to > rc.gate.from ? rc.gate : undefined;
  const rs = gate ? supportBitmap(examples.map((e) => e.features!), FEATURE_SPEC.dim) : undefined;
  const rg = gate ? Float32Array.of(gate.from, gate.to) : undefined;
  // And its bounds (`ResidualConfig.bounds`): the uploaded requests' largest evidence counts.
  const rb = gate && rc.bounds !== false ? correctionBounds(examples.map((e) => e.features!)) : undefined;
  // And its shape (`ResidualConfig.shape`): the names and value classes of the uploaded requests, per endpoint.
  const rp = gate && re !== undefined && rc.shape !== false
    ? correctionShape(examples.map((e) => e.features!))
    : undefined;
  const fit = fitResidual(
    gAll,
    noveltyAll,
    a0,
    [...examples.map((e) => e.features!), ...anchors.map((c) => c.features)],
    yAll,
    rowWeights,
    weights[0] > 0 && weights[1] > 0,
    rcFit,
    correction ? logit(tau!) - rc.margin : null,
    n,
  );
  const w = new Float32Array(Z);
  for (let j = 0; j < Z; j++) w[j] = fit.alpha * init.w[j];
  const head: HeadParams = { w, b: fit.alpha * init.b + fit.beta, ri: fit.ri, rv: fit.rv, rd: fit.rd };
  if (re) head.re = re;
  if (rs && rg) head.rs = rs, head.rg = rg;
  if (rs && rb) head.rb = rb;
  if (rs && rp) head.rp = rp;
  if (counts && fit.a) {
    head.a = Float32Array.from(fit.a.subarray(0, NOVELTY_DIM));
    head.profile = siteProfileOf(counts, inputs.minCount, inputs.weight);
    if (inputs.values) {
      head.av = Float32Array.from(fit.a.subarray(NOVELTY_DIM, NOVELTY_DIM + VALUE_DIM));
      head.values = inputs.values.compact();
    }
  }
  return { head, steps: rc.steps, loss: fit.loss, trust: { alpha: fit.alpha, beta: fit.beta } };
}

/** Coordinates `[from, to)` of θ kept non-negative (the novelty weights). */
export interface NonNegative {
  from: number;
  to: number;
}

/**
 * Gradient steps on `Σ_i c_i·ℓ(θ·x_i, y_i) + λ/2·‖θ − θ₀‖²`, with `x_i = [inputs_i; 1]` and class-balanced
 * weights `c_i` (each class present carries an equal share). `θ` layout: `[weights of the Z inputs, b]`.
 *
 * @param theta0 The init, length Z + 1.
 * @param zs Head inputs `[n][Z]` (z, or z and its novelty features: see `headInputs`).
 * @param ys Labels.
 * @param n Examples.
 * @param Z Input width.
 * @param config Steps, step size, λ.
 * @param out Receives θ after the last step.
 * @param tape If given, receives θ_t for t = 0..steps (each length Z + 1), for differentiating the steps.
 * @param nonNeg Coordinates projected onto ≥ 0 after every step (the novelty weights), if any.
 * @returns Steps taken and the final objective.
 */
export function fitHead(
  theta0: Float64Array,
  zs: Float32Array,
  ys: ArrayLike<number>,
  n: number,
  Z: number,
  config: AdaptConfig,
  out: Float64Array,
  tape: Float64Array[] | null,
  nonNeg: NonNegative | null = null,
): { steps: number; loss: number } {
  out.set(theta0);
  if (n === 0) return { steps: 0, loss: 0 };
  const weights = classWeights(ys, n);
  const grad = new Float64Array(Z + 1);
  const { steps, lr, prox } = config;
  for (let t = 0; t < steps; t++) {
    if (tape) tape[t].set(out);
    grad.fill(0);
    for (let i = 0; i < n; i++) {
      const o = i * Z;
      let s = out[Z];
      for (let j = 0; j < Z; j++) s += out[j] * zs[o + j];
      const r = weights[ys[i]] * (sigma(s) - ys[i]);
      for (let j = 0; j < Z; j++) grad[j] += r * zs[o + j];
      grad[Z] += r;
    }
    for (let j = 0; j <= Z; j++) {
      out[j] -= lr * (grad[j] + prox * (out[j] - theta0[j]));
    }
    if (nonNeg) { for (let j = nonNeg.from; j < nonNeg.to; j++) if (out[j] < 0) out[j] = 0; }
  }
  if (tape) tape[steps].set(out);
  return { steps, loss: objective(out, theta0, zs, ys, n, Z, weights, prox) };
}

/**
 * The prototype head: the init plus `scale·(μ₁ − μ₀)` on w and `−scale·(‖μ₁‖² − ‖μ₀‖²)/2` on b, the linear
 * classifier of nearest class means (then `nonNeg` coordinates projected onto ≥ 0). With one class only, the
 * init is kept.
 */
export function protoHead(
  theta0: Float64Array,
  zs: Float32Array,
  ys: ArrayLike<number>,
  n: number,
  Z: number,
  scale: number,
  out: Float64Array,
  nonNeg: NonNegative | null = null,
): { steps: number; loss: number } {
  out.set(theta0);
  const mu0 = new Float64Array(Z), mu1 = new Float64Array(Z);
  let n0 = 0, n1 = 0;
  for (let i = 0; i < n; i++) {
    const mu = ys[i] === 1 ? mu1 : mu0;
    if (ys[i] === 1) n1++;
    else n0++;
    for (let j = 0; j < Z; j++) mu[j] += zs[i * Z + j];
  }
  if (n0 === 0 || n1 === 0) return { steps: 0, loss: 0 };
  let q0 = 0, q1 = 0;
  for (let j = 0; j < Z; j++) {
    mu0[j] /= n0;
    mu1[j] /= n1;
    out[j] += scale * (mu1[j] - mu0[j]);
    q0 += mu0[j] * mu0[j];
    q1 += mu1[j] * mu1[j];
  }
  out[Z] -= scale * (q1 - q0) / 2;
  if (nonNeg) { for (let j = nonNeg.from; j < nonNeg.to; j++) if (out[j] < 0) out[j] = 0; }
  return {
    steps: 0,
    loss: objective(out, theta0, zs, ys, n, Z, classWeights(ys, n), 0),
  };
}

/** Per-class weights `[c_benign, c_attack]`: each class present carries an equal share of the loss. */
export function classWeights(
  ys: ArrayLike<number>,
  n: number,
): [number, number] {
  let pos = 0;
  for (let i = 0; i < n; i++) pos += ys[i];
  const neg = n - pos, classes = (pos > 0 ? 1 : 0) + (neg > 0 ? 1 : 0);
  return [neg > 0 ? 1 / (classes * neg) : 0, pos > 0 ? 1 / (classes * pos) : 0];
}

function objective(
  theta: Float64Array,
  theta0: Float64Array,
  zs: Float32Array,
  ys: ArrayLike<number>,
  n: number,
  Z: number,
  weights: [number, number],
  prox: number,
): number {
  let loss = 0;
  for (let i = 0; i < n; i++) {
    let s = theta[Z];
    for (let j = 0; j < Z; j++) s += theta[j] * zs[i * Z + j];
    loss += weights[ys[i]] *
      ((s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s))) -
        ys[i] * s);
  }
  let d = 0;
  for (let j = 0; j <= Z; j++) d += (theta[j] - theta0[j]) ** 2;
  return loss + prox * d / 2;
}
