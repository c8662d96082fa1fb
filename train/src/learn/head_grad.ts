/**
 * The backward passes of head adaptation, beside the forward passes in `src/heads/adapt.ts`: given
 * `θ̄ = ∂L_query/∂θ_adapted`, the gradients with respect to the init θ₀ and the support embeddings.
 *
 * - `fitHeadBackward` differentiates through the unrolled gradient steps (second order in the head, as in
 *   ANIL; the steps are few and the head is small, so this is cheap), or takes the first-order shortcut
 *   `∂θ_T/∂θ₀ = I`, `∂θ_T/∂z = 0` (first-order MAML).
 * - `protoHeadBackward` differentiates the prototype head.
 *
 * @module
 */
import { type AdaptConfig, classWeights, type NonNegative } from "@taugate/heads/adapt.ts";
import { sigmoid as sigma } from "@taugate/util/math.ts";

/**
 * Backward through `fitHead`'s steps `θ_{t+1} = θ_t − α(Σ_i c_i(σ(θ_t·x_i) − y_i)x_i + λ(θ_t − θ₀))`:
 *
 * `θ̄_t = θ̄_{t+1} − α(H_t θ̄_{t+1} + λθ̄_{t+1})`, `x̄_i −= α c_i((p_i − y_i)θ̄_{t+1} + p_i(1−p_i)(x_i·θ̄_{t+1})θ_t)`,
 * `θ̄₀ += αλθ̄_{t+1}`.
 *
 * @param thetaBar ∂L/∂θ_T (length Z + 1), consumed.
 * @param tape θ_t for t = 0..T from the forward pass.
 * @param zs Support embeddings `[n][Z]`.
 * @param ys Support labels.
 * @param n Support size.
 * @param Z Embedding width.
 * @param config The steps' settings.
 * @param firstOrder Take the first-order shortcut.
 * @param theta0Bar Receives ∂L/∂θ₀ (accumulated).
 * @param zsBar Receives ∂L/∂z_i (accumulated, `[n][Z]`).
 * @param nonNeg The coordinates the forward steps projected onto ≥ 0: one held at 0 by the projection after
 *   a step passes no gradient back through that step.
 */
export function fitHeadBackward(
  thetaBar: Float64Array,
  tape: Float64Array[],
  zs: Float32Array,
  ys: ArrayLike<number>,
  n: number,
  Z: number,
  config: AdaptConfig,
  firstOrder: boolean,
  theta0Bar: Float64Array | Float32Array,
  zsBar: Float32Array,
  nonNeg: NonNegative | null = null,
): void {
  if (n === 0 || firstOrder) {
    for (let j = 0; j <= Z; j++) theta0Bar[j] += thetaBar[j];
    return;
  }
  const weights = classWeights(ys, n);
  const { lr, prox } = config;
  const u = thetaBar;
  const next = new Float64Array(Z + 1);
  for (let t = config.steps - 1; t >= 0; t--) {
    const th = tape[t];
    if (nonNeg) { for (let j = nonNeg.from; j < nonNeg.to; j++) if (tape[t + 1][j] === 0) u[j] = 0; }
    next.set(u);
    for (let j = 0; j <= Z; j++) {
      next[j] -= lr * prox * u[j];
      theta0Bar[j] += lr * prox * u[j];
    }
    for (let i = 0; i < n; i++) {
      const o = i * Z;
      let s = th[Z], xu = u[Z];
      for (let j = 0; j < Z; j++) {
        s += th[j] * zs[o + j];
        xu += zs[o + j] * u[j];
      }
      const p = sigma(s), c = weights[ys[i]];
      const h = c * p * (1 - p) * xu;
      for (let j = 0; j < Z; j++) {
        next[j] -= lr * h * zs[o + j];
        zsBar[o + j] -= lr * (c * (p - ys[i]) * u[j] + h * th[j]);
      }
      next[Z] -= lr * h;
    }
    u.set(next);
  }
  for (let j = 0; j <= Z; j++) theta0Bar[j] += u[j];
}

/**
 * Backward of the prototype head `θ = θ₀ + s·[μ₁ − μ₀; −(‖μ₁‖² − ‖μ₀‖²)/2]`.
 *
 * @param thetaBar ∂L/∂θ (length Z + 1).
 * @param zs Support embeddings.
 * @param ys Support labels.
 * @param n Support size.
 * @param Z Embedding width.
 * @param scale s.
 * @param theta0Bar Receives ∂L/∂θ₀ (accumulated).
 * @param zsBar Receives ∂L/∂z_i (accumulated).
 * @returns ∂L/∂s.
 */
export function protoHeadBackward(
  thetaBar: Float64Array,
  zs: Float32Array,
  ys: ArrayLike<number>,
  n: number,
  Z: number,
  scale: number,
  theta0Bar: Float64Array | Float32Array,
  zsBar: Float32Array,
): number {
  for (let j = 0; j <= Z; j++) theta0Bar[j] += thetaBar[j];
  let n0 = 0, n1 = 0;
  for (let i = 0; i < n; i++) ys[i] === 1 ? n1++ : n0++;
  if (n0 === 0 || n1 === 0) return 0;
  const mu0 = new Float64Array(Z), mu1 = new Float64Array(Z);
  for (let i = 0; i < n; i++) {
    const mu = ys[i] === 1 ? mu1 : mu0;
    for (let j = 0; j < Z; j++) mu[j] += zs[i * Z + j];
  }
  let sBar = 0, q = 0;
  for (let j = 0; j < Z; j++) {
    mu0[j] /= n0;
    mu1[j] /= n1;
    q += mu1[j] * mu1[j] - mu0[j] * mu0[j];
    sBar += thetaBar[j] * (mu1[j] - mu0[j]);
  }
  sBar -= thetaBar[Z] * q / 2;
  const bBar = thetaBar[Z];
  for (let i = 0; i < n; i++) {
    const pos = ys[i] === 1,
      mu = pos ? mu1 : mu0,
      cnt = pos ? n1 : n0,
      sign = pos ? 1 : -1;
    for (let j = 0; j < Z; j++) {
      // w gets ±s·z/cnt; b gets ∓s·μ·z/cnt (from −s·(‖μ₁‖² − ‖μ₀‖²)/2).
      zsBar[i * Z + j] += sign * scale * (thetaBar[j] - bBar * mu[j]) / cnt;
    }
  }
  return sBar;
}
