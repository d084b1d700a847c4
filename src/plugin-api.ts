/**
 * The one module sampler plugins import from: the plugin contract and the helpers a diffusers-style
 * scheduler needs. Plugins (plugins/<name>/index.ts) should not reach into src/core/* directly, so
 * the core can be reorganised without touching them; anything a plugin needs is re-exported here.
 */
export type { InverseSampler, SamplerPlugin, Sampler, SchedulerConfig, StepOutput } from './core/sampler.ts';
export { OptionError } from './core/sampler.ts';
export type { NoiseSource } from './core/rng.ts';
export { type Tensor, numel, tensor } from './core/tensor.ts';
export {
  type BetaSchedule,
  type NoiseSchedule,
  linspaceFloat32,
  makeBetas,
  makeSchedule,
  scheduleFromBetas,
} from './core/schedule.ts';
export {
  type CommonConfig,
  type StepLimits,
  type TimestepSpacing,
  checkStepCount,
  checkStepInputs,
  checkTimesteps,
  clipOrThreshold,
  commonConfigShape,
  ddpmTimesteps,
  dpmSolverTimesteps,
  npArange,
  npLinspace,
  parseConfig,
  roundHalfEven,
  scheduleFromConfig,
  thresholdSample,
  unsupportedFlag,
} from './core/timesteps.ts';
