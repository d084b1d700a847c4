/**
 * What the three diffusers-style sampler plugins share: numpy-exact timestep spacing, the
 * scheduler config keys common to DDPMScheduler / DDIMScheduler / DPMSolverMultistepScheduler
 * (with from_config semantics), the noise schedule they describe, and diffusers' x0 clipping /
 * dynamic thresholding. Pure: no I/O.
 */
import { z } from 'zod';
import { makeBetas, scheduleFromBetas, type NoiseSchedule } from './schedule.ts';

// ---------------------------------------------------------------------------------------------
// numpy semantics

/** np.round / np.around: round half to even (banker's rounding), as numpy does for float64. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** np.linspace(start, stop, num) in float64: `arange(num) * step + start` with the endpoint set to `stop` exactly. */
export function npLinspace(start: number, stop: number, num: number): number[] {
  if (num <= 0) return [];
  if (num === 1) return [start];
  const div = num - 1;
  const delta = stop - start;
  const step = delta / div;
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(step === 0 ? (i / div) * delta + start : i * step + start);
  out[num - 1] = stop;
  return out;
}

/**
 * np.arange(start, stop, step) in float64: length ceil((stop - start) / step); numpy writes `start`,
 * then `start + step`, and fills the rest as `start + i * delta` with delta = (start + step) - start.
 */
export function npArange(start: number, stop: number, step: number): number[] {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const out: number[] = [];
  if (length === 0) return out;
  out.push(start);
  if (length === 1) return out;
  const next = start + step;
  out.push(next);
  const delta = next - start;
  for (let i = 2; i < length; i++) out.push(start + i * delta);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Timestep spacing

export type TimestepSpacing = 'linspace' | 'leading' | 'trailing';

/**
 * numpy's float arange can overshoot by one element (e.g. np.arange(1000, 0, -1000/61) has 62 values), so
 * diffusers' "trailing" spacing then ends with timestep -1, which torch reads as alphas_cumprod[-1] (the
 * noisiest step). We drop such negative timesteps: the only place these plugins knowingly differ from diffusers.
 */
function dropNegative(timesteps: number[]): number[] {
  return timesteps.filter((t) => t >= 0);
}

/** DDPMScheduler / DDIMScheduler.set_timesteps(n): descending integer timesteps. */
export function ddpmTimesteps(spacing: TimestepSpacing, numTrainTimesteps: number, n: number, stepsOffset: number): number[] {
  const T = numTrainTimesteps;
  switch (spacing) {
    case 'linspace':
      return npLinspace(0, T - 1, n).map(roundHalfEven).reverse();
    case 'leading': {
      const stepRatio = Math.floor(T / n);
      return Array.from({ length: n }, (_, i) => roundHalfEven(i * stepRatio)).reverse().map((t) => t + stepsOffset);
    }
    case 'trailing':
      return dropNegative(npArange(T, 0, -(T / n)).map((t) => roundHalfEven(t) - 1));
  }
}

/**
 * DPMSolverMultistepScheduler.set_timesteps(n): n + 1 points with the last (t = 0 end) dropped.
 * `lastTimestep` is num_train_timesteps less the steps cut by lambda_min_clipped.
 */
export function dpmSolverTimesteps(
  spacing: TimestepSpacing,
  numTrainTimesteps: number,
  lastTimestep: number,
  n: number,
  stepsOffset: number,
): number[] {
  switch (spacing) {
    case 'linspace':
      return npLinspace(0, lastTimestep - 1, n + 1).map(roundHalfEven).reverse().slice(0, -1);
    case 'leading': {
      const stepRatio = Math.floor(lastTimestep / (n + 1));
      return Array.from({ length: n + 1 }, (_, i) => roundHalfEven(i * stepRatio))
        .reverse()
        .slice(0, -1)
        .map((t) => t + stepsOffset);
    }
    case 'trailing':
      return dropNegative(npArange(lastTimestep, 0, -(numTrainTimesteps / n)).map((t) => roundHalfEven(t) - 1));
  }
}

export interface StepLimits {
  readonly min: number;
  readonly max: number;
  readonly default: number;
}

/** Throws unless `n` is an integer within the limits; the message names the value and the range. */
export function checkStepCount(sampler: string, n: number, limits: StepLimits): void {
  if (!Number.isInteger(n) || n < limits.min || n > limits.max) {
    throw new Error(
      `${sampler}: num_inference_steps must be an integer from ${limits.min} to ${limits.max}, got ${String(n)}`,
    );
  }
}

/** Every timestep must index alphas_cumprod; the list must strictly descend (no repeated model calls). */
export function checkTimesteps(sampler: string, timesteps: readonly number[], numTrainTimesteps: number, n: number): void {
  if (timesteps.length === 0) throw new Error(`${sampler}: ${n} inference steps give no timesteps`);
  for (let i = 0; i < timesteps.length; i++) {
    const t = timesteps[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= numTrainTimesteps) {
      throw new Error(
        `${sampler}: ${n} inference steps give timestep ${t}, outside 0..${numTrainTimesteps - 1} (check steps_offset)`,
      );
    }
    if (i > 0 && t >= timesteps[i - 1]!) {
      throw new Error(`${sampler}: ${n} inference steps give repeated timestep ${t}; use fewer steps`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Config keys every scheduler here knows (diffusers' from_config: known keys override defaults, unknown keys
// are ignored). Values diffusers accepts but these plugins do not implement are rejected naming the key.

/** A diffusers boolean option these samplers do not implement: false (the default) or an error naming it. */
export const unsupportedFlag = () =>
  z
    .boolean()
    .default(false)
    .refine((v) => !v, { message: 'true is not supported by this sampler' });

export function commonConfigShape(defaults: { timestepSpacing: TimestepSpacing }) {
  return {
    num_train_timesteps: z.number().int().min(1).default(1000),
    beta_start: z.number().nonnegative().default(0.0001),
    beta_end: z.number().nonnegative().default(0.02),
    beta_schedule: z.enum(['linear', 'scaled_linear', 'squaredcos_cap_v2']).default('linear'),
    trained_betas: z.array(z.number().gt(0).lt(1)).nullish(),
    prediction_type: z.enum(['epsilon', 'v_prediction', 'sample']).default('epsilon'),
    thresholding: z.boolean().default(false),
    dynamic_thresholding_ratio: z.number().min(0).max(1).default(0.995),
    sample_max_value: z.number().positive().default(1.0),
    timestep_spacing: z.enum(['linspace', 'leading', 'trailing']).default(defaults.timestepSpacing),
    steps_offset: z.number().int().min(0).default(0),
    rescale_betas_zero_snr: unsupportedFlag(),
  };
}

export interface CommonConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
  trained_betas?: number[] | null | undefined;
  prediction_type: 'epsilon' | 'v_prediction' | 'sample';
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  sample_max_value: number;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
}

/** schema.parse with an Error that names the sampler and every offending key. */
export function parseConfig<S extends z.ZodTypeAny>(sampler: string, schema: S, config: unknown): z.output<S> {
  const result = schema.safeParse(config ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(config)'}: ${i.message}`);
    throw new Error(`${sampler}: invalid scheduler config: ${problems.join('; ')}`);
  }
  return result.data as z.output<S>;
}

/** The betas / alphas_cumprod the config describes (trained_betas win over beta_schedule, as in diffusers). */
export function scheduleFromConfig(sampler: string, c: CommonConfig): NoiseSchedule {
  if (c.trained_betas != null) {
    if (c.trained_betas.length !== c.num_train_timesteps) {
      throw new Error(
        `${sampler}: trained_betas has ${c.trained_betas.length} values but num_train_timesteps is ${c.num_train_timesteps}`,
      );
    }
    return scheduleFromBetas(Float32Array.from(c.trained_betas));
  }
  return scheduleFromBetas(makeBetas(c.beta_schedule, c.num_train_timesteps, c.beta_start, c.beta_end));
}

// ---------------------------------------------------------------------------------------------
// x0 clipping / thresholding

const f = Math.fround;

/**
 * diffusers' _threshold_sample (Imagen dynamic thresholding), in place: per batch item, s = the
 * `ratio` quantile of |x0| (torch.quantile, linear interpolation), clamped to [1, maxValue]; then
 * x0 = clamp(x0, -s, s) / s. Emulates torch's float32 arithmetic.
 */
export function thresholdSample(x0: Float32Array, shape: readonly number[], ratio: number, maxValue: number): void {
  const batch = shape[0] ?? 1;
  const per = x0.length / batch;
  const sorted = new Float32Array(per);
  const rank = f(f(ratio) * (per - 1));
  const below = Math.floor(rank);
  const above = Math.min(Math.ceil(rank), per - 1);
  const w = f(rank - below);
  for (let b = 0; b < batch; b++) {
    const row = x0.subarray(b * per, (b + 1) * per);
    for (let i = 0; i < per; i++) sorted[i] = Math.abs(row[i]!);
    sorted.sort();
    const lo = sorted[below]!;
    const hi = sorted[above]!;
    const q = Math.abs(w) < 0.5 ? f(lo + f(w * f(hi - lo))) : f(hi - f(f(hi - lo) * f(1 - w)));
    const s = Math.min(Math.max(q, 1), f(maxValue));
    for (let i = 0; i < per; i++) row[i] = Math.min(Math.max(row[i]!, -s), s) / s;
  }
}

/** Step 3 of DDPM/DDIM.step: dynamic thresholding if configured, else clip to ±clip_sample_range if clip_sample. */
export function clipOrThreshold(
  x0: Float32Array,
  shape: readonly number[],
  c: Pick<CommonConfig, 'thresholding' | 'dynamic_thresholding_ratio' | 'sample_max_value'> & {
    clip_sample: boolean;
    clip_sample_range: number;
  },
): void {
  if (c.thresholding) {
    thresholdSample(x0, shape, c.dynamic_thresholding_ratio, c.sample_max_value);
  } else if (c.clip_sample) {
    const r = c.clip_sample_range;
    for (let i = 0; i < x0.length; i++) {
      const v = x0[i]!;
      x0[i] = v < -r ? -r : v > r ? r : v;
    }
  }
}

/** The sampler's inputs must agree in size; returns the element count. */
export function checkStepInputs(sampler: string, modelOutput: { data: Float32Array; shape: readonly number[] }, sample: { data: Float32Array; shape: readonly number[] }): number {
  if (modelOutput.data.length !== sample.data.length) {
    throw new Error(
      `${sampler}: model output [${modelOutput.shape.join(', ')}] does not match sample [${sample.shape.join(', ')}]`,
    );
  }
  return sample.data.length;
}
