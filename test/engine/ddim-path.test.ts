/**
 * The noise demo's deterministic counterpart (src/engine/ddim-path.ts) on a denoiser whose eps is exact
 * (test/plugins/gaussian-denoiser.ts), through the real ddim plugin: its x_t frames are the probability-flow
 * ODE's exact latents within DDIM's first-order error, and the eta 0 decoding of the inverted latent comes back
 * to x_0 within the tolerances docs/inversion.md states for the round trip (0.075 at 50 steps).
 */
import { describe, expect, it } from 'vitest';
import ddim from '../../plugins/ddim/index.ts';
import { ddimPath } from '../../src/engine/ddim-path.ts';
import { CONFIG, X0, exactLatent, gaussianDenoiser } from '../plugins/gaussian-denoiser.ts';

const x0 = { data: Float32Array.from(X0), shape: [1, 1, 1, X0.length] };

function ddim50() {
  const sampler = ddim.create(CONFIG, ddim.options.parse({}));
  sampler.setTimesteps(50);
  return { sampler, inverse: sampler.inverse!() };
}

const maxError = (actual: ArrayLike<number>, expected: (x: number, i: number) => number) => Math.max(...X0.map((x, i) => Math.abs(actual[i]! - expected(x, i))));

describe('ddimPath: DDIM inversion frames and their decoding', () => {
  it('frames sit at the schedule timestep at or below each asked one, within 0.04 of the exact ODE latent', async () => {
    const { sampler, inverse } = ddim50();
    const path = await ddimPath(gaussianDenoiser, sampler, inverse, x0, [0, 50, 100, 500, 999], 500);
    // 50 leading steps of T = 1000: every 20th timestep, 0..980.
    expect(path.frames.map((f) => f.t)).toEqual([0, 40, 100, 500, 980]);
    // DDIM's first-order error at 50 steps peaks mid-way (measured: 0.035 at t=100 and 200, 0.021 at 500, 0.024 at 980).
    for (const frame of path.frames) expect(maxError(frame.sample.data, (x) => exactLatent(x, frame.t)), `t=${frame.t}`).toBeLessThan(0.04);
    // A broken inversion (x_t left at x_0) would be 0.7 off at t=980.
    expect(maxError(path.frames[4]!.sample.data, (x) => x)).toBeGreaterThan(0.5);
  });

  it('decodes from the last timestep at or below `from` back to x_0: within 0.075 from 980, closer from 500', async () => {
    const { sampler, inverse } = ddim50();
    const far = await ddimPath(gaussianDenoiser, sampler, inverse, x0, [0], 999);
    expect(far.start).toBe(980);
    const farError = maxError(far.reconstruction.data, (x) => x);
    expect(farError).toBeLessThan(0.075);
    const near = await ddimPath(gaussianDenoiser, sampler, inverse, x0, [0], 500);
    expect(near.start).toBe(500);
    const nearError = maxError(near.reconstruction.data, (x) => x);
    expect(nearError).toBeLessThan(farError);
  });

  it('is deterministic: the same image gives the same frames and reconstruction', async () => {
    const { sampler, inverse } = ddim50();
    const [a, b] = [await ddimPath(gaussianDenoiser, sampler, inverse, x0, [300], 300), await ddimPath(gaussianDenoiser, sampler, inverse, x0, [300], 300)];
    expect(Array.from(a.frames[0]!.sample.data)).toEqual(Array.from(b.frames[0]!.sample.data));
    expect(Array.from(a.reconstruction.data)).toEqual(Array.from(b.reconstruction.data));
  });
});
