/**
 * A denoiser whose epsilon-prediction is exact: data x_0 ~ N(MU, S^2) in every coordinate, so
 * x_t ~ N(sqrt(a) MU, a S^2 + 1 - a) with a = abar_t, and E[eps | x_t] = sqrt(1 - a) (x_t - sqrt(a) MU) / (a S^2 + 1 - a).
 * Its probability-flow ODE keeps the standardised value z = (x - sqrt(a) MU) / sqrt(a S^2 + 1 - a), so the exact
 * inversion of x_0 at noise level a is sqrt(a) MU + sqrt(a S^2 + 1 - a) (x_0 - MU) / S.
 */
import ddim from '../../plugins/ddim/index.ts';
import { psnr } from '../../src/core/psnr.ts';
import type { Tensor } from '../../src/core/tensor.ts';
import { invertLoop } from '../../src/engine/inversion.ts';
import type { Denoiser } from '../../src/engine/pipeline.ts';
import { denoise } from '../../src/engine/pipeline.ts';
import { NO_NOISE } from '../../src/engine/prepare.ts';

export const MU = 0.2;
export const S = 0.5;
export const CONFIG = {
  num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear',
  prediction_type: 'epsilon', clip_sample: false, set_alpha_to_one: true, timestep_spacing: 'leading', steps_offset: 0,
};
/** Points of the data range, some in the tails of N(0.2, 0.5^2). */
export const X0 = [-0.95, -0.6, -0.2, 0.0, 0.2, 0.45, 0.7, 0.99];

/** abar_t in double straight from DDPM's definition (linear betas 1e-4..0.02 over 1000 steps). */
export const ABAR: readonly number[] = (() => {
  const out: number[] = [];
  let product = 1;
  for (let i = 0; i < 1000; i++) out.push((product *= 1 - (1e-4 + ((0.02 - 1e-4) * i) / 999)));
  return out;
})();

export const gaussianDenoiser: Denoiser = {
  async predict(sample: Tensor, t: number): Promise<Tensor> {
    const a = ABAR[t]!;
    const data = sample.data.map((x) => (Math.sqrt(1 - a) * (x - Math.sqrt(a) * MU)) / (a * S * S + 1 - a));
    return { data, shape: sample.shape };
  },
};

export function exactLatent(x0: number, t: number): number {
  const a = ABAR[t]!;
  return Math.sqrt(a) * MU + (Math.sqrt(a * S * S + 1 - a) * (x0 - MU)) / S;
}

/** DDIM inversion of X0 with `steps` steps, then DDIM generation back: max errors of the latent and of x_0, and x_0's PSNR. */
export async function roundTrip(steps: number, config: Record<string, unknown> = CONFIG) {
  const sampler = ddim.create(config, ddim.options.parse({}));
  sampler.setTimesteps(steps);
  const inverse = sampler.inverse!();
  const x0 = { data: Float32Array.from(X0), shape: [1, 1, 1, X0.length] };
  const { latent } = await invertLoop(gaussianDenoiser, inverse, x0);
  const last = inverse.timesteps[inverse.timesteps.length - 1]!;
  const latentError = Math.max(...X0.map((v, i) => Math.abs(latent.data[i]! - exactLatent(v, last))));
  const back = await denoise(gaussianDenoiser, sampler, latent, sampler.timesteps, NO_NOISE);
  const reconstructionError = Math.max(...X0.map((v, i) => Math.abs(back.sample.data[i]! - v)));
  // PSNR over the data range [-1, 1] (peak 2), as for images in model space.
  return { latentError, reconstructionError, psnr: psnr(back.sample.data, X0, 2), last };
}
