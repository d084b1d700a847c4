/**
 * The noise demo's deterministic counterpart of `denoise_from` (DDIM paper section 5.4): instead of noising
 * the image with one random draw (the forward process, x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps), run
 * the DDIM ODE forwards from it (diffusers' DDIMInverseScheduler, no noise drawn), recording x_t at each
 * timestep of the schedule, then decode back from the timestep the stochastic reconstruction starts at.
 */
import type { InverseSampler, Sampler } from '../core/sampler.ts';
import type { Tensor } from '../core/tensor.ts';
import type { Denoiser } from './pipeline.ts';
import { denoise } from './pipeline.ts';
import { NO_NOISE } from './prepare.ts';

export interface DdimPath {
  /** For each asked timestep, x_t at the largest inverse timestep <= it, and that timestep. */
  readonly frames: readonly { readonly t: number; readonly sample: Tensor }[];
  /** The timestep the decoding starts from: the largest of the schedule <= `from`. */
  readonly start: number;
  /** x_start decoded back to x_0 along the schedule's timesteps <= start, deterministically. */
  readonly reconstruction: Tensor;
}

/**
 * `sampler` has its timesteps set and `inverse` is its inverse (so the two visit the same timesteps); `from`
 * must be at least the schedule's first timestep. The inversion runs as far as the largest of `timesteps` and
 * `from` need, one model call per inverse timestep.
 */
export async function ddimPath(denoiser: Denoiser, sampler: Sampler, inverse: InverseSampler, x0: Tensor, timesteps: readonly number[], from: number): Promise<DdimPath> {
  const upTo = Math.max(from, ...timesteps);
  const visited: { t: number; sample: Tensor }[] = [];
  let sample = x0;
  for (const t of inverse.timesteps) {
    if (t > upTo) break;
    sample = inverse.step(await denoiser.predict(sample, t), t, sample).nextSample;
    visited.push({ t, sample });
  }
  const at = (t: number) => visited.findLast((v) => v.t <= t);
  const startAt = at(from);
  if (!startAt) throw new Error(`the schedule has no timestep at or below ${from}`);
  // Below the schedule's first timestep there is only x_0 itself.
  const frames = timesteps.map((t) => at(t) ?? { t: 0, sample: x0 });
  const decoded = await denoise(denoiser, sampler, startAt.sample, sampler.timesteps.filter((t) => t <= startAt.t), NO_NOISE);
  return { frames, start: startAt.t, reconstruction: decoded.sample };
}
