/**
 * `ddpm-bot compare` run as a user runs it, on the shipped mnist model: one seed through every installed
 * sampler, a table of steps and seconds, and one PNG per sampler that is what the engine computes for it.
 */
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.ts';
import { imagePng } from '../../src/render/index.ts';
import { cli, root } from './support/run-cli.ts';

const modelsDir = path.join(root, 'models');
let engine: Engine;
let out: string;

beforeAll(async () => {
  engine = await Engine.load({ modelsDir });
  out = await mkdtemp(path.join(tmpdir(), 'ddpm-compare-'));
});

afterAll(async () => {
  await engine?.close();
});

describe('ddpm-bot compare', () => {
  it('runs one seed through every sampler, prints steps and seconds per sampler, and writes each image', async () => {
    const dir = path.join(out, 'all');
    const run = await cli('compare', '--models-dir', modelsDir, '--model', 'mnist', '--label', '3', '--steps', '4', '--seed', '11', '--out-dir', dir);
    expect(run.code).toBe(0);
    const names = engine.samplers.list().map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['ddpm', 'ddim', 'score-sde', 'euler']));
    const [title, header, ...rows] = run.stdout.trimEnd().split('\n');
    const guidance = engine.model('mnist').manifest.conditioning!.default_guidance_scale;
    expect(title).toBe(`seed 11, mnist, label 3, guidance ${guidance}`);
    expect(header).toMatch(/^sampler\s+steps\s+seconds\s+image$/);
    expect(rows.map((r) => r.split(/\s+/)[0])).toEqual(names);
    for (const [i, name] of names.entries()) {
      const file = path.join(dir, `${name}.png`);
      expect(rows[i]).toMatch(new RegExp(`^${name}\\s+4\\s+\\d+\\.\\d\\d\\s+${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
      const expected = await engine.generate(engine.validate({ model: 'mnist', sampler: name, steps: 4, seed: 11, label: 3 }));
      expect((await readFile(file)).equals(await imagePng(expected.images)), name).toBe(true);
    }
    // The same seed, different samplers: different images. (Not euler against ddim: on mnist's leading timesteps
    // DDIM at eta 0 is Euler in sigma, so the two agree up to float rounding, as test/plugins/loop.test.ts shows.)
    const distinct = ['ddpm', 'ddim', 'score-sde', 'dpm-solver'];
    const images = await Promise.all(distinct.map((n) => readFile(path.join(dir, `${n}.png`))));
    expect(new Set(images.map((b) => b.toString('base64'))).size).toBe(distinct.length);
    expect(run.stderr.trim().split('\n')).toHaveLength(names.length);
  });

  it('runs each sampler at its own default step count unless --steps is given', async () => {
    const dir = path.join(out, 'defaults');
    const run = await cli('compare', '--models-dir', modelsDir, '--model', 'mnist', '--samplers', 'euler,ddim', '--seed', '2', '--out-dir', dir);
    expect(run.code).toBe(0);
    const rows = run.stdout.trimEnd().split('\n').slice(2);
    const T = engine.model('mnist').manifest.scheduler.num_train_timesteps;
    expect(rows.map((r) => r.split(/\s+/).slice(0, 2))).toEqual([
      ['euler', String(engine.sampler('euler').stepLimits(T).default)],
      ['ddim', String(engine.sampler('ddim').stepLimits(T).default)],
    ]);
    expect((await readdir(dir)).sort()).toEqual(['ddim.png', 'euler.png']);
  });

  it.each([
    [['--samplers', 'ddim,nope'], /unknown sampler "nope"; available: ddim, ddpm, dpm-solver, euler, score-sde/],
    [['--samplers', 'ddim,ddim'], /samplers lists ddim twice/],
    [['--steps', '1000'], /steps must be 1\.\.999 for dpm-solver \(got 1000\)/],
  ])('refuses %j before sampling anything, in one line', async (args, message) => {
    const dir = path.join(out, 'refused');
    const run = await cli('compare', '--models-dir', modelsDir, '--model', 'mnist', ...args, '--out-dir', dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).toBe('');
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
  });
});
