/**
 * Noise schedules exactly as diffusers builds them (float32 tensors): betas from
 * `torch.linspace` (float32 arithmetic, symmetric halves), alphas = 1 - betas and
 * alphas_cumprod from `torch.cumprod` (which accumulates in double and stores float32).
 */

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';

export interface NoiseSchedule {
  readonly numTrainTimesteps: number;
  readonly betas: Float32Array;
  readonly alphas: Float32Array;
  readonly alphasCumprod: Float32Array;
}

const f = Math.fround;

/** torch.linspace(start, end, steps, dtype=float32) on CPU: forward from start for the first half, backward from end for the rest. */
export function linspaceFloat32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const s = f(start);
  const e = f(end);
  const step = f(f(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    out[i] = i < halfway ? f(s + f(step * i)) : f(e - f(step * (steps - i - 1)));
  }
  return out;
}

/** Beta i of diffusers' betas_for_alpha_bar with the cosine alpha_bar, in double. */
function squaredCosCapV2Beta(i: number, steps: number, maxBeta = 0.999): number {
  const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
  return Math.min(1 - alphaBar((i + 1) / steps) / alphaBar(i / steps), maxBeta);
}

/** diffusers' cosine betas: computed in double, stored float32. */
function squaredCosCapV2(steps: number): Float32Array {
  return Float32Array.from({ length: steps }, (_, i) => squaredCosCapV2Beta(i, steps));
}

export function makeBetas(schedule: BetaSchedule, numTrainTimesteps: number, betaStart: number, betaEnd: number): Float32Array {
  switch (schedule) {
    case 'linear':
      return linspaceFloat32(betaStart, betaEnd, numTrainTimesteps);
    case 'scaled_linear':
      return linspaceFloat32(Math.sqrt(betaStart), Math.sqrt(betaEnd), numTrainTimesteps).map((b) => f(b * b));
    case 'squaredcos_cap_v2':
      return squaredCosCapV2(numTrainTimesteps);
  }
}

/**
 * The same betas in double precision, as the DDPM reference code (numpy float64) builds them; used where
 * float32 cancellation would bias a result (e.g. 1 - abar_0 in the variational bound).
 */
export function makeBetasFloat64(schedule: BetaSchedule, numTrainTimesteps: number, betaStart: number, betaEnd: number): Float64Array {
  const lerp = (a: number, b: number, i: number) => (numTrainTimesteps === 1 ? a : a + ((b - a) * i) / (numTrainTimesteps - 1));
  return Float64Array.from({ length: numTrainTimesteps }, (_, i) => {
    switch (schedule) {
      case 'linear':
        return lerp(betaStart, betaEnd, i);
      case 'scaled_linear':
        return lerp(Math.sqrt(betaStart), Math.sqrt(betaEnd), i) ** 2;
      case 'squaredcos_cap_v2':
        return squaredCosCapV2Beta(i, numTrainTimesteps);
    }
  });
}

export function scheduleFromBetas(betas: Float32Array): NoiseSchedule {
  const alphas = betas.map((b) => f(1 - b));
  const alphasCumprod = new Float32Array(alphas.length);
  let acc = 1;
  for (let i = 0; i < alphas.length; i++) {
    acc *= alphas[i]!;
    alphasCumprod[i] = acc;
  }
  return { numTrainTimesteps: betas.length, betas, alphas, alphasCumprod };
}

export function makeSchedule(schedule: BetaSchedule, numTrainTimesteps: number, betaStart: number, betaEnd: number): NoiseSchedule {
  return scheduleFromBetas(makeBetas(schedule, numTrainTimesteps, betaStart, betaEnd));
}

/** Posterior variance beta~_t = (1 - abar_{t-1}) / (1 - abar_t) * beta_t (DDPM eq. 7), with abar_{-1} = 1. */
export function posteriorVariance(s: NoiseSchedule, t: number): number {
  const abarPrev = t > 0 ? s.alphasCumprod[t - 1]! : 1;
  return ((1 - abarPrev) / (1 - s.alphasCumprod[t]!)) * s.betas[t]!;
}
