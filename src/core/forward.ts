/** The forward (noising) process q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I), DDPM eq. 4. */
import type { NoiseSchedule } from './schedule.ts';
import type { Tensor } from './tensor.ts';

/**
 * x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, as diffusers' `add_noise` computes it (float32
 * coefficients and products). `x0` and `noise` share a shape.
 */
export function addNoise(schedule: NoiseSchedule, x0: Tensor, noise: Float32Array, t: number): Tensor {
  if (!Number.isInteger(t) || t < 0 || t >= schedule.numTrainTimesteps) {
    throw new RangeError(`timestep ${t} outside 0..${schedule.numTrainTimesteps - 1}`);
  }
  if (noise.length !== x0.data.length) throw new Error(`noise has ${noise.length} values, x_0 has ${x0.data.length}`);
  const abar = schedule.alphasCumprod[t]!;
  const a = Math.fround(Math.sqrt(abar));
  const b = Math.fround(Math.sqrt(Math.fround(1 - abar)));
  const out = new Float32Array(x0.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.fround(a * x0.data[i]!) + Math.fround(b * noise[i]!);
  return { data: out, shape: x0.shape };
}
