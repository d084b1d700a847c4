/**
 * Euler and Euler ancestral equal diffusers' own schedulers on a real network: the pixels of
 * test/fixtures/euler/diffusers-pixels.json were made by diffusers' EulerDiscreteScheduler /
 * EulerAncestralDiscreteScheduler in its generic loop (init_noise_sigma, scale_model_input, step) on the torch
 * twin of test/fixtures/parity/gauss, CPU torch.Generator (test/fixtures/euler/diffusers_pixels.py). Here the
 * same seeds run through our loop (src/engine/pipeline.ts) and the ONNX export of that network.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.ts';
import { PerRequestNoise, denoise, initialNoise } from '../../src/engine/pipeline.ts';
import { toPixels } from '../../src/render/index.ts';

interface Case {
  id: string;
  ancestral: boolean;
  config: Record<string, unknown>;
  steps: number;
  seed: number;
  count: number;
  timesteps: number[];
  pixels: number[];
  finalSample: number[];
}

const fixtures = path.resolve(import.meta.dirname, '../fixtures');
const reference = JSON.parse(await readFile(path.join(fixtures, 'euler', 'diffusers-pixels.json'), 'utf8')) as { diffusers: string; cases: Case[] };
let engine: Engine;

beforeAll(async () => {
  engine = await Engine.load({ modelsDir: path.join(fixtures, 'parity'), executionProvider: 'cpu' });
});
afterAll(async () => engine.close());

describe(`euler equals diffusers ${reference.diffusers} on parity-gauss`, () => {
  for (const c of reference.cases) {
    it(`${c.id}: seed ${c.seed}, ${c.count} image(s), within 1 gray level`, async () => {
      const model = engine.model('parity-gauss');
      const plugin = engine.sampler('euler');
      const sampler = plugin.create({ ...model.manifest.scheduler, ...c.config }, plugin.options.parse({ ancestral: c.ancestral }));
      sampler.setTimesteps(c.steps);
      expect(sampler.timesteps).toEqual(c.timesteps);
      const members = [{ seed: c.seed, count: c.count }];
      const noise = new PerRequestNoise(members);
      const start = initialNoise(noise, members, [1, 8, 8]);
      const { sample } = await denoise(await engine.denoiser('parity-gauss'), sampler, start, sampler.timesteps, noise);
      const pixels = Array.from({ length: c.count }, (_, i) => Array.from(toPixels(sample, i).data)).flat();
      let worst = 0;
      for (let i = 0; i < pixels.length; i++) worst = Math.max(worst, Math.abs(pixels[i]! - c.pixels[i]!));
      expect(worst).toBeLessThanOrEqual(1);
      let rel = 0;
      for (let i = 0; i < sample.data.length; i++) {
        rel = Math.max(rel, Math.abs(sample.data[i]! - c.finalSample[i]!) / Math.max(1, Math.abs(c.finalSample[i]!)));
      }
      expect(rel).toBeLessThan(1e-5);
    });
  }
});
