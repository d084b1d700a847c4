/**
 * The DDPM variational bound in bits per dimension (DDPM eq. 5), the measure of the paper's Table 2:
 * L = L_T + sum_{t=2..T} L_{t-1} + L_0 with
 *   L_T     = KL(q(x_T | x_0) || N(0, I)),
 *   L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)), x_t ~ q(x_t | x_0),
 *   L_0     = -log p(x_0 | x_1) under the discretised Gaussian decoder (eq. 13).
 * Every term is evaluated exactly (one model call per timestep), with the reference code's
 * conventions: float64 betas (`makeBetasFloat64`), timesteps indexed 0..T-1, x_0 predictions clipped
 * to [-1, 1], and the fixed model variance's log clipped at index 0 (the posterior variance there is 0).
 */
import type { NoiseSource } from '../core/rng.ts';
import type { Tensor } from '../core/tensor.ts';
import type { Denoiser } from '../engine/pipeline.ts';
import { discretizedGaussianLogLikelihood, gaussianKl } from './metrics.ts';

export type FixedVariance = 'fixed_small' | 'fixed_large';

export interface BoundTerms {
  /** Per image: total bits/dim, and its prior (L_T) and decoder (L_0) parts. */
  readonly totalBpd: Float64Array;
  readonly priorBpd: Float64Array;
  readonly decoderBpd: Float64Array;
}

/** Closed-form coefficients of q(x_{t-1} | x_t, x_0) and of the model's fixed variance, in double. */
function coefficients(betas: Float64Array, variance: FixedVariance) {
  const T = betas.length;
  const beta = Array.from(betas);
  const abar: number[] = [];
  beta.reduce((product, b) => (abar.push(product * (1 - b)), product * (1 - b)), 1);
  const abarPrev = [1, ...abar.slice(0, -1)];
  const posteriorVar = beta.map((b, t) => (b * (1 - abarPrev[t]!)) / (1 - abar[t]!));
  const posteriorLogVarClipped = posteriorVar.map((v, t) => Math.log(t === 0 ? posteriorVar[1]! : v));
  const modelLogVar =
    variance === 'fixed_small' ? posteriorLogVarClipped : beta.map((b, t) => Math.log(t === 0 ? posteriorVar[1]! : b));
  return {
    T,
    abar,
    coef1: beta.map((b, t) => (b * Math.sqrt(abarPrev[t]!)) / (1 - abar[t]!)),
    coef2: abar.map((a, t) => ((1 - abarPrev[t]!) * Math.sqrt(1 - beta[t]!)) / (1 - a)),
    posteriorLogVarClipped,
    modelLogVar,
  };
}

/**
 * Bits/dim of each image of `x0` ([N, C, H, W], uint8 values scaled to [-1, 1]) for an epsilon-
 * prediction model. `noise` supplies the x_t ~ q(x_t | x_0) draws, one per timestep.
 */
export async function variationalBoundBpd(
  model: Denoiser,
  betas: Float64Array,
  variance: FixedVariance,
  x0: Tensor,
  noise: NoiseSource,
  onTimestep?: (done: number, total: number) => void,
): Promise<BoundTerms> {
  const c = coefficients(betas, variance);
  const n = x0.shape[0]!;
  const dims = x0.data.length / n;
  const ln2 = Math.LN2;
  const total = new Float64Array(n);
  const decoder = new Float64Array(n);
  const prior = new Float64Array(n);

  const abarLast = c.abar[c.T - 1]!;
  for (let i = 0; i < x0.data.length; i++) {
    prior[Math.floor(i / dims)]! += gaussianKl(Math.sqrt(abarLast) * x0.data[i]!, Math.log(1 - abarLast), 0, 0) / dims / ln2;
  }

  const xt = new Float32Array(x0.data.length);
  for (let t = c.T - 1; t >= 0; t--) {
    const eps = noise.randn(x0.shape);
    const a = Math.sqrt(c.abar[t]!);
    const b = Math.sqrt(1 - c.abar[t]!);
    for (let i = 0; i < xt.length; i++) xt[i] = a * x0.data[i]! + b * eps[i]!;
    const prediction = await model.predict({ data: xt, shape: x0.shape }, t);
    const logVar = c.modelLogVar[t]!;
    for (let i = 0; i < xt.length; i++) {
      const predX0 = Math.min(1, Math.max(-1, (xt[i]! - b * prediction.data[i]!) / a));
      const modelMean = c.coef1[t]! * predX0 + c.coef2[t]! * xt[i]!;
      const image = Math.floor(i / dims);
      if (t === 0) {
        const nll = -discretizedGaussianLogLikelihood(x0.data[i]!, modelMean, 0.5 * logVar) / dims / ln2;
        decoder[image]! += nll;
        total[image]! += nll;
      } else {
        const trueMean = c.coef1[t]! * x0.data[i]! + c.coef2[t]! * xt[i]!;
        total[image]! += gaussianKl(trueMean, c.posteriorLogVarClipped[t]!, modelMean, logVar) / dims / ln2;
      }
    }
    onTimestep?.(c.T - t, c.T);
  }
  for (let i = 0; i < n; i++) total[i]! += prior[i]!;
  return { totalBpd: total, priorBpd: prior, decoderBpd: decoder };
}
