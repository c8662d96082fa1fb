/**
 * Head adaptation: a tenant's head is fitted from the model's meta-learned head init on the tenant's few
 * labelled embeddings, by a few gradient steps on a class-balanced logistic loss with a proximal pull toward
 * the init (`λ/2·‖θ − θ₀‖²`), so a handful of examples moves the head only as far as they justify. With a
 * profile config, the tenant's benign examples and unlabelled traffic also give a site profile (see
 * `profile.ts`) and the head learns weights on the deviations from it. The worker and `deno task eval` both
 * call `adaptHead`; meta-training runs the same steps (`headInputs`, `fitHead`) and differentiates through
 * them.
 *
 * Plain TypeScript on z vectors, deterministic, no allocation per step.
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
import type { HeadParams } from "../model/types.ts";
import { buildProfile, deviations, type Profile, type ProfileConfig } from "./profile.ts";

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
  /** Site profile from benign and unlabelled requests; absent: the head sees z alone. */
  profile?: ProfileConfig;
}

/** Inputs besides the labelled examples. */
export interface AdaptOptions {
  /** Embeddings of the tenant's unlabelled traffic (for the site profile; a few may be attacks). */
  unlabeled?: readonly Float32Array[];
}

/** One labelled example: an embedding and its label (1 = attack). */
export interface HeadExample {
  z: Float32Array;
  label: 0 | 1;
}

/** The result of an adaptation. */
export interface AdaptResult {
  head: HeadParams;
  /** Gradient steps taken. */
  steps: number;
  /** The final objective (balanced logistic loss plus the proximal term). */
  loss: number;
}

/**
 * Adapts a head to labelled examples. Benign-only examples are fine (the common upload: "these were my false
 * positives"); no examples (and no unlabelled traffic) returns the init.
 *
 * @param init The head to start from (the model's global head, `meta.head`).
 * @param examples Labelled embeddings (from `engine.embed`).
 * @param config The adaptation settings (`meta.adapt`).
 * @param options The tenant's unlabelled traffic, for the site profile.
 * @returns The adapted head (with `mu`, `prec`, `a` when a profile was built), the steps and the final loss.
 * @throws {RangeError} when an embedding's length differs from the head's.
 */
export function adaptHead(
  init: HeadParams,
  examples: readonly HeadExample[],
  config: AdaptConfig,
  options: AdaptOptions = {},
): AdaptResult {
  const Z = init.w.length, n = examples.length;
  const unlabeled = options.unlabeled ?? [];
  const zs = new Float32Array(n * Z),
    ys = new Uint8Array(n),
    zu = new Float32Array(unlabeled.length * Z);
  for (let i = 0; i < n; i++) {
    const e = examples[i];
    if (e.z.length !== Z) {
      throw new RangeError(
        `embedding ${i} has ${e.z.length} dimensions, the head ${Z}`,
      );
    }
    zs.set(e.z, i * Z);
    ys[i] = e.label === 1 ? 1 : 0;
  }
  for (let i = 0; i < unlabeled.length; i++) {
    if (unlabeled[i].length !== Z) {
      throw new RangeError(`unlabelled embedding ${i} has the wrong length`);
    }
    zu.set(unlabeled[i], i * Z);
  }
  const inputs = headInputs(
    zs,
    ys,
    n,
    Z,
    zu,
    unlabeled.length,
    config.profile,
    null,
  );
  const F = inputs.F;
  const theta0 = initTheta(
    init,
    Z,
    inputs.profile ? config.profile : undefined,
  );
  const theta = new Float64Array(F + 1);
  const fit = config.method === "proto"
    ? protoHead(theta0, inputs.X, ys, n, F, config.protoScale ?? 1, theta)
    : fitHead(theta0, inputs.X, ys, n, F, config, theta, null);
  return {
    head: headOf(theta, Z, inputs.profile),
    steps: fit.steps,
    loss: fit.loss,
  };
}

/** θ₀ = `[w; a₀; b]` with a profile, `[w; b]` without. */
export function initTheta(
  init: HeadParams,
  Z: number,
  profile: ProfileConfig | undefined,
): Float64Array {
  const F = profile ? 2 * Z : Z;
  const theta0 = new Float64Array(F + 1);
  for (let j = 0; j < Z; j++) theta0[j] = init.w[j];
  if (profile) { for (let j = 0; j < Z; j++) theta0[Z + j] = profile.a0[j]; }
  theta0[F] = init.b;
  return theta0;
}

/** The head of a fitted θ (and the profile it was fitted with). */
export function headOf(
  theta: Float64Array,
  Z: number,
  profile: Profile | null,
): HeadParams {
  const F = profile ? 2 * Z : Z;
  const head: HeadParams = {
    w: Float32Array.from(theta.subarray(0, Z)),
    b: theta[F],
  };
  if (profile) {
    head.a = Float32Array.from(theta.subarray(Z, 2 * Z));
    head.mu = Float32Array.from(profile.mu);
    head.prec = Float32Array.from(profile.prec);
  }
  return head;
}

/**
 * The head's inputs for labelled examples: z alone, or `[z; deviations from the site profile]` when a
 * profile config is given and enough benign requests exist. Labelled benign examples are part of the profile
 * and are scored against it leave-one-out.
 *
 * @param zs Labelled embeddings `[n][Z]`.
 * @param ys Labels.
 * @param n Count.
 * @param Z Embedding width.
 * @param zu Unlabelled embeddings `[nU][Z]`.
 * @param nU Count.
 * @param config The profile config, if any.
 * @param dq If given (`[n][Z]`), receives `∂deviation_j/∂z_j` per example (training differentiates through it).
 * @returns The inputs `X` (`[n][F]`), their width F (Z or 2Z) and the profile (or `null`).
 */
export function headInputs(
  zs: Float32Array,
  ys: ArrayLike<number>,
  n: number,
  Z: number,
  zu: Float32Array,
  nU: number,
  config: ProfileConfig | undefined,
  dq: Float32Array | null,
): { X: Float32Array; F: number; profile: Profile | null } {
  let profile: Profile | null = null;
  if (config) {
    let nB = 0;
    for (let i = 0; i < n; i++) nB += ys[i] === 0 ? 1 : 0;
    const benign = new Float32Array(nB * Z);
    for (let i = 0, k = 0; i < n; i++) {
      if (ys[i] === 0) benign.set(zs.subarray(i * Z, (i + 1) * Z), Z * k++);
    }
    profile = buildProfile(benign, nB, zu, nU, Z, config);
  }
  if (!profile || !config) {
    return { X: zs.subarray(0, n * Z), F: Z, profile: null };
  }
  const F = 2 * Z, X = new Float32Array(n * F);
  for (let i = 0; i < n; i++) {
    X.set(zs.subarray(i * Z, (i + 1) * Z), i * F);
    deviations(
      profile,
      zs,
      i * Z,
      Z,
      ys[i] === 0,
      config.minVar,
      X,
      i * F + Z,
      dq,
      i * Z,
    );
  }
  return { X, F, profile };
}

/**
 * Gradient steps on `Σ_i c_i·ℓ(θ·x_i, y_i) + λ/2·‖θ − θ₀‖²`, with `x_i = [inputs_i; 1]` and class-balanced
 * weights `c_i` (each class present carries an equal share). `θ` layout: `[weights of the Z inputs, b]`.
 *
 * @param theta0 The init, length Z + 1.
 * @param zs Head inputs `[n][Z]` (z, or z and its deviations: see `headInputs`).
 * @param ys Labels.
 * @param n Examples.
 * @param Z Input width.
 * @param config Steps, step size, λ.
 * @param out Receives θ after the last step.
 * @param tape If given, receives θ_t for t = 0..steps (each length Z + 1), for differentiating the steps.
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
  }
  if (tape) tape[steps].set(out);
  return { steps, loss: objective(out, theta0, zs, ys, n, Z, weights, prox) };
}

/**
 * The prototype head: the init plus `scale·(μ₁ − μ₀)` on w and `−scale·(‖μ₁‖² − ‖μ₀‖²)/2` on b, the linear
 * classifier of nearest class means. With one class only, the init is kept.
 */
export function protoHead(
  theta0: Float64Array,
  zs: Float32Array,
  ys: ArrayLike<number>,
  n: number,
  Z: number,
  scale: number,
  out: Float64Array,
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

function sigma(s: number): number {
  if (s >= 0) return 1 / (1 + Math.exp(-s));
  const e = Math.exp(s);
  return e / (1 + e);
}
