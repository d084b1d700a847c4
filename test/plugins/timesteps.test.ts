import { describe, expect, it } from 'vitest';
import ddim from '../../plugins/ddim/index.ts';
import ddpm from '../../plugins/ddpm/index.ts';
import dpmSolver from '../../plugins/dpm-solver/index.ts';
import type { SamplerPlugin } from '../../src/core/sampler.ts';
import { npArange, npLinspace, roundHalfEven } from '../../src/core/timesteps.ts';

const reversedRange = (from: number, step: number, count: number) => Array.from({ length: count }, (_, i) => from - i * step);

function timesteps(plugin: SamplerPlugin, config: Record<string, unknown>, n: number) {
  const s = plugin.create(config, plugin.options.parse({}));
  s.setTimesteps(n);
  return [...s.timesteps];
}

describe('numpy semantics', () => {
  it('np.round rounds halves to even', () => {
    expect([0.5, 1.5, 2.5, 166.5, 499.5, 832.5, -0.5, -1.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([
      0, 2, 2, 166, 500, 832, 0, -2, 2, 3,
    ]);
  });

  it('np.linspace hits both ends and steps evenly', () => {
    expect(npLinspace(0, 999, 7)).toEqual([0, 166.5, 333, 499.5, 666, 832.5, 999]);
    expect(npLinspace(0, 999, 1)).toEqual([0]);
  });

  it('np.arange with a float step can return one value more than T / step (numpy length = ceil(range / step))', () => {
    // 1000 / 61 is rounded down in float64, so 61 steps of it stop just short of 0: numpy yields 62 values.
    const a = npArange(1000, 0, -1000 / 61);
    expect(a).toHaveLength(62);
    expect(Math.abs(a[61]!)).toBeLessThan(1e-9);
    expect(npArange(1000, 0, -100)).toEqual(reversedRange(1000, 100, 10));
  });
});

describe('DDPM / DDIM set_timesteps', () => {
  for (const plugin of [ddpm, ddim] as SamplerPlugin[]) {
    describe(plugin.name, () => {
      it('leading (default), n = 10: 900, 800, ..., 0', () => {
        expect(timesteps(plugin, {}, 10)).toEqual(reversedRange(900, 100, 10));
      });

      it('leading with steps_offset 1: 901, ..., 1', () => {
        expect(timesteps(plugin, { steps_offset: 1 }, 10)).toEqual(reversedRange(901, 100, 10));
      });

      it('leading with T // n not dividing T: n = 3 -> step 333: 666, 333, 0', () => {
        expect(timesteps(plugin, {}, 3)).toEqual([666, 333, 0]);
      });

      it('trailing, n = 10: 999, 899, ..., 99', () => {
        expect(timesteps(plugin, { timestep_spacing: 'trailing' }, 10)).toEqual(reversedRange(999, 100, 10));
      });

      it('trailing, n = 3: round(1000, 666.67, 333.33) - 1', () => {
        expect(timesteps(plugin, { timestep_spacing: 'trailing' }, 3)).toEqual([999, 666, 332]);
      });

      it('trailing never yields timestep -1 where numpy arange overshoots (n = 61 of 1000)', () => {
        const ts = timesteps(plugin, { timestep_spacing: 'trailing' }, 61);
        expect(ts).toHaveLength(61);
        expect(ts[0]).toBe(999);
        expect(Math.min(...ts)).toBe(15); // round(1000 * 1/61) - 1 = round(16.39) - 1
      });

      it('linspace, n = 10: 999 * i / 9 are integers, reversed', () => {
        expect(timesteps(plugin, { timestep_spacing: 'linspace' }, 10)).toEqual(reversedRange(999, 111, 10));
      });

      it('linspace, n = 7: 166.5 -> 166 and 832.5 -> 832 but 499.5 -> 500 (half to even)', () => {
        expect(timesteps(plugin, { timestep_spacing: 'linspace' }, 7)).toEqual([999, 832, 666, 500, 333, 166, 0]);
      });

      it('n = T visits every timestep; n = 1 only t = 0 (leading)', () => {
        expect(timesteps(plugin, {}, 1000)).toEqual(reversedRange(999, 1, 1000));
        expect(timesteps(plugin, {}, 1)).toEqual([0]);
      });

      it('rejects step counts outside 1..T naming the value and range', () => {
        for (const n of [0, 1001, 2.5, -3, Number.NaN]) {
          expect(() => timesteps(plugin, {}, n)).toThrow(new RegExp(`1 to 1000, got ${String(n)}`));
        }
        expect(() => timesteps(plugin, { num_train_timesteps: 10 }, 11)).toThrow(/1 to 10, got 11/);
      });

      it('rejects a steps_offset that pushes a timestep past T - 1', () => {
        expect(() => timesteps(plugin, { steps_offset: 1 }, 1000)).toThrow(/timestep 1000, outside 0\.\.999/);
      });
    });
  }
});

describe('DPM-Solver set_timesteps (n + 1 points, last dropped)', () => {
  it('linspace (default), n = 20: round(49.95 i) for i = 20..1, with 499.5 -> 500', () => {
    // np.linspace(0, 999, 21) = 49.95 * i; rounding: 49.95 -> 50, ..., 499.5 -> 500 (even), 549.45 -> 549, ...
    const expected = [999, 949, 899, 849, 799, 749, 699, 649, 599, 549, 500, 450, 400, 350, 300, 250, 200, 150, 100, 50];
    expect(timesteps(dpmSolver, {}, 20)).toEqual(expected);
    // the same from the definition
    const byHand = Array.from({ length: 20 }, (_, k) => roundHalfEven(((20 - k) * 999) / 20));
    expect(byHand).toEqual(expected);
  });

  it('leading, n = 20: step 1000 // 21 = 47: 940, 893, ..., 47', () => {
    expect(timesteps(dpmSolver, { timestep_spacing: 'leading' }, 20)).toEqual(reversedRange(940, 47, 20));
    expect(timesteps(dpmSolver, { timestep_spacing: 'leading', steps_offset: 1 }, 20)).toEqual(reversedRange(941, 47, 20));
  });

  it('trailing, n = 20: 999, 949, ..., 49', () => {
    expect(timesteps(dpmSolver, { timestep_spacing: 'trailing' }, 20)).toEqual(reversedRange(999, 50, 20));
  });

  it('allows up to T - 1 steps (no repeated timestep) and names the range otherwise', () => {
    expect(dpmSolver.stepLimits(1000)).toEqual({ min: 1, max: 999, default: 20 });
    expect(timesteps(dpmSolver, {}, 999)).toEqual(reversedRange(999, 1, 999));
    expect(() => timesteps(dpmSolver, {}, 1000)).toThrow(/1 to 999, got 1000/);
    expect(() => timesteps(dpmSolver, {}, 0)).toThrow(/1 to 999, got 0/);
  });
});

describe('step limits', () => {
  it('DDPM defaults to the full chain, DDIM to 50, DPM-Solver to 20 (capped by T)', () => {
    expect(ddpm.stepLimits(1000)).toEqual({ min: 1, max: 1000, default: 1000 });
    expect(ddim.stepLimits(1000)).toEqual({ min: 1, max: 1000, default: 50 });
    expect(ddim.stepLimits(20)).toEqual({ min: 1, max: 20, default: 20 });
    expect(dpmSolver.stepLimits(10)).toEqual({ min: 1, max: 9, default: 9 });
  });
});
