/** diffusers' from_config semantics for the three plugins: known keys override defaults, the rest are ignored. */
import { describe, expect, it } from 'vitest';
import ddim, { DdimSampler } from '../../plugins/ddim/index.ts';
import ddpm, { DdpmSampler } from '../../plugins/ddpm/index.ts';
import dpmSolver, { DpmSolverSampler } from '../../plugins/dpm-solver/index.ts';
import type { SamplerPlugin } from '../../src/core/sampler.ts';

/** scheduler_config.json of a DDPM-trained model as diffusers saves it (google/ddpm-cifar10-32 style). */
const DDPM_JSON = {
  _class_name: 'DDPMScheduler',
  _diffusers_version: '0.30.0',
  beta_end: 0.02,
  beta_schedule: 'linear',
  beta_start: 0.0001,
  clip_sample: true,
  num_train_timesteps: 1000,
  trained_betas: null,
  variance_type: 'fixed_small',
};

const plugins = [ddpm, ddim, dpmSolver] as SamplerPlugin[];
const configOf = (plugin: SamplerPlugin, config: Record<string, unknown>) => {
  const sampler = plugin.create(config, plugin.options.parse({}));
  return (sampler as DdpmSampler | DdimSampler | DpmSolverSampler).config as Record<string, unknown>;
};

describe('from_config semantics', () => {
  it('missing keys keep each scheduler’s own defaults', () => {
    expect(configOf(ddpm, {})).toMatchObject({
      num_train_timesteps: 1000,
      beta_start: 0.0001,
      beta_end: 0.02,
      beta_schedule: 'linear',
      prediction_type: 'epsilon',
      variance_type: 'fixed_small',
      clip_sample: true,
      clip_sample_range: 1,
      thresholding: false,
      timestep_spacing: 'leading',
      steps_offset: 0,
    });
    expect(configOf(ddim, {})).toMatchObject({
      clip_sample: true,
      set_alpha_to_one: true,
      steps_offset: 0,
      timestep_spacing: 'leading',
      clip_sample_range: 1,
      prediction_type: 'epsilon',
    });
    expect(configOf(dpmSolver, {})).toMatchObject({
      solver_order: 2,
      algorithm_type: 'dpmsolver++',
      solver_type: 'midpoint',
      lower_order_final: true,
      euler_at_final: false,
      final_sigmas_type: 'zero',
      timestep_spacing: 'linspace',
      use_karras_sigmas: false,
      lambda_min_clipped: -Infinity,
      prediction_type: 'epsilon',
    });
  });

  it('ignores unknown keys (class name, version, other schedulers’ keys)', () => {
    for (const plugin of plugins) {
      const config = configOf(plugin, { ...DDPM_JSON, some_future_key: 3 });
      expect(config).not.toHaveProperty('_class_name');
      expect(config).not.toHaveProperty('some_future_key');
    }
    expect(configOf(ddim, DDPM_JSON)).not.toHaveProperty('variance_type');
    expect(configOf(dpmSolver, DDPM_JSON)).not.toHaveProperty('clip_sample');
  });

  it('a manifest’s timestep_spacing overrides every sampler’s default', () => {
    for (const plugin of plugins) {
      const sampler = plugin.create({ timestep_spacing: 'trailing' }, plugin.options.parse({}));
      sampler.setTimesteps(10);
      expect(sampler.timesteps[0]).toBe(999);
      expect(sampler.timesteps.at(-1)).toBe(99);
    }
  });

  it('num_train_timesteps and betas from the config shape the schedule and the step limits', () => {
    const sampler = ddim.create({ num_train_timesteps: 100 }, ddim.options.parse({}));
    sampler.setTimesteps(10);
    expect(sampler.timesteps).toEqual([90, 80, 70, 60, 50, 40, 30, 20, 10, 0]);
  });

  it('trained_betas override beta_schedule: alphas_cumprod is their product', () => {
    const betas = Array.from({ length: 10 }, (_, i) => 0.05 + 0.05 * i);
    const abar = (t: number) => betas.slice(0, t + 1).reduce((p, b) => p * (1 - b), 1);
    const sampler = ddim.create(
      { trained_betas: betas, num_train_timesteps: 10, beta_schedule: 'scaled_linear', clip_sample: false },
      ddim.options.parse({}),
    );
    sampler.setTimesteps(10);
    const x = { data: Float32Array.from([0.5, -0.25]), shape: [1, 2, 1, 1] };
    const eps = { data: Float32Array.from([1, 2]), shape: [1, 2, 1, 1] };
    const out = sampler.step(eps, 5, x, { randn: () => new Float32Array(2) });
    const expected = [0.5, -0.25].map((xi, i) => (xi - Math.sqrt(1 - abar(5)) * (i + 1)) / Math.sqrt(abar(5)));
    expect(out.predOriginalSample.data[0]).toBeCloseTo(expected[0]!, 5);
    expect(out.predOriginalSample.data[1]).toBeCloseTo(expected[1]!, 5);
  });

  it('rejects wrong types and values with an error naming the key', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ num_train_timesteps: '1000' }, /num_train_timesteps/],
      [{ num_train_timesteps: 10.5 }, /num_train_timesteps/],
      [{ beta_start: null }, /beta_start/],
      [{ beta_schedule: 'sigmoid' }, /beta_schedule/],
      [{ prediction_type: 'flow_prediction' }, /prediction_type/],
      [{ timestep_spacing: 'even' }, /timestep_spacing/],
      [{ steps_offset: -1 }, /steps_offset/],
      [{ trained_betas: 'linear' }, /trained_betas/],
      [{ rescale_betas_zero_snr: true }, /rescale_betas_zero_snr/],
    ];
    for (const plugin of plugins) {
      for (const [config, key] of cases) {
        expect(() => plugin.create(config, plugin.options.parse({})), `${plugin.name} ${JSON.stringify(config)}`).toThrow(key);
      }
    }
    expect(() => ddpm.create({ clip_sample: 'yes' }, {})).toThrow(/clip_sample/);
    expect(() => ddim.create({ set_alpha_to_one: 1 }, ddim.options.parse({}))).toThrow(/set_alpha_to_one/);
    expect(() => ddpm.create({ trained_betas: [0.1, 0.2], num_train_timesteps: 1000 }, {})).toThrow(/trained_betas has 2 values/);
  });

  it('errors say which sampler rejected the config', () => {
    expect(() => dpmSolver.create({ solver_order: 5 }, {})).toThrow(/^dpm-solver: invalid scheduler config: solver_order/);
  });
});
