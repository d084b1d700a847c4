import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.ts';
import { imagePng } from '../../src/render/index.ts';
import { modelsWithConditionalDefault } from '../fixtures/conditional-default.ts';
import { cli, root } from './support/run-cli.ts';

const models = ['--models-dir', path.join(root, 'test/fixtures')];
const conditional = ['--models-dir', path.join(root, 'test/fixtures/conditional')];
let out: string;
/** tiny plus tiny-cond marked as the default. */
let withDefault: string[];

beforeAll(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'ddpm-cli-'));
  withDefault = ['--models-dir', await modelsWithConditionalDefault()];
});

describe('ddpm-bot CLI', () => {
  it('generates a PNG at the native size, prints the seed, and the same seed gives the same bytes', async () => {
    const a = path.join(out, 'a.png');
    const b = path.join(out, 'b.png');
    const c = path.join(out, 'c.png');
    const args = ['generate', ...models, '--model', 'tiny', '--sampler', 'ddim', '--steps', '20'];
    const first = await cli(...args, '--seed', '4294967295', '--out', a);
    expect(first).toMatchObject({ code: 0, stdout: 'seed 4294967295\n' });
    expect((await cli(...args, '--seed', '4294967295', '--out', b)).code).toBe(0);
    expect((await cli(...args, '--seed', '1', '--out', c)).code).toBe(0);
    const [pa, pb, pc] = await Promise.all([a, b, c].map((f) => readFile(f)));
    expect(pa!.equals(pb!)).toBe(true);
    expect(pa!.equals(pc!)).toBe(false);
    const meta = await sharp(pa).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([8, 8, 1]);
  });

  it('writes what the engine computes for the same parameters (the image adapters deliver)', async () => {
    const file = path.join(out, 'engine.png');
    expect((await cli('generate', ...models, '--sampler', 'dpm-solver', '--steps', '12', '--seed', '99', '--out', file)).code).toBe(0);
    const engine = await Engine.load({ modelsDir: path.join(root, 'test/fixtures') });
    const result = await engine.generate(engine.validate({ model: 'tiny', sampler: 'dpm-solver', steps: 12, seed: 99 }));
    expect((await readFile(file)).equals(await imagePng(result.images))).toBe(true);
    await engine.close();
  });

  it("takes a sampler's options as --option name=value, typed by its declaration, and names them in the summary", async () => {
    const file = path.join(out, 'options.png');
    const run = await cli('generate', ...models, '--sampler', 'score-sde', '--steps', '6', '--seed', '3', '--option', 'corrector_steps=2', '--option', 'probability_flow=true', '--option', 'predictor=euler_maruyama', '--out', file);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('score-sde (corrector_steps 2, predictor euler_maruyama, probability_flow true, snr 0.16), 6 steps, 1 image,');
    const engine = await Engine.load({ modelsDir: path.join(root, 'test/fixtures') });
    const params = engine.validate({ model: 'tiny', sampler: 'score-sde', steps: 6, seed: 3, options: { corrector_steps: 2, probability_flow: true, predictor: 'euler_maruyama' } });
    const expected = await imagePng((await engine.generate(params)).images);
    const plain = await imagePng((await engine.generate(engine.validate({ model: 'tiny', sampler: 'score-sde', steps: 6, seed: 3 }))).images);
    await engine.close();
    expect((await readFile(file)).equals(expected)).toBe(true);
    expect(expected.equals(plain)).toBe(false);
  });

  it('prints a random seed when none is given, which reproduces the image', async () => {
    const first = await cli('generate', ...models, '--steps', '5', '--out', path.join(out, 'r1.png'));
    const seed = /^seed (\d+)\n$/.exec(first.stdout)?.[1];
    expect(seed).toBeDefined();
    await cli('generate', ...models, '--steps', '5', '--seed', seed!, '--out', path.join(out, 'r2.png'));
    expect((await readFile(path.join(out, 'r1.png'))).equals(await readFile(path.join(out, 'r2.png')))).toBe(true);
  });

  it('writes a grid for --count and a trajectory GIF, reports both, and --scale enlarges both', async () => {
    const [grid, gif, grid3, gif3] = [path.join(out, 'grid.png'), path.join(out, 'traj.gif'), path.join(out, 'grid3.png'), path.join(out, 'traj3.gif')] as const;
    const args = ['generate', ...models, '--sampler', 'ddpm', '--steps', '30', '--count', '4', '--seed', '2'];
    const run = await cli(...args, '--out', grid, '--gif', gif);
    expect(run.code).toBe(0);
    const [g, a] = await Promise.all([sharp(grid).metadata(), sharp(gif, { animated: true }).metadata()]);
    expect(g.width).toBeGreaterThan(16);
    expect(a.pages).toBe(30);
    expect(run.stderr).toContain(`wrote ${grid} (${g.width}x${g.height} px, tiny, ddpm, 30 steps, 4 images,`);
    expect(run.stderr).toContain(`wrote ${gif} (${a.width}x${a.pageHeight} px, 30 frames, predicted x0 at 30 of the 30 steps)`);
    expect((await cli(...args, '--out', grid3, '--gif', gif3, '--scale', '3')).code).toBe(0);
    const [g3, a3] = await Promise.all([sharp(grid3).metadata(), sharp(gif3, { animated: true }).metadata()]);
    expect([g3.width, g3.height]).toEqual([g.width! * 3, g.height! * 3]);
    expect([a3.width, a3.pageHeight, a3.pages]).toEqual([a.width! * 3, a.pageHeight! * 3, 30]);
    // Nearest neighbour: each source pixel becomes a 3x3 block of the same value.
    const [small, big] = await Promise.all([sharp(grid).raw().toBuffer(), sharp(grid3).raw().toBuffer()]);
    const channels = g.channels!;
    for (const [x, y] of [[0, 0], [5, 7], [g.width! - 1, g.height! - 1]] as const) {
      for (const [dx, dy] of [[0, 0], [2, 1], [1, 2]] as const) {
        const from = (y * g.width! + x) * channels;
        const to = ((y * 3 + dy) * g3.width! + x * 3 + dx) * channels;
        expect(big.subarray(to, to + channels)).toEqual(small.subarray(from, from + channels));
      }
    }
  });

  it('runs the noise demo on an image file', async () => {
    const input = path.join(out, 'in.png');
    await writeFile(input, await sharp({ create: { width: 50, height: 30, channels: 3, background: '#3060a0' } }).png().toBuffer());
    const grid = path.join(out, 'noise.png');
    const [gif, reconstruction] = [path.join(out, 'noise.gif'), path.join(out, 'back.png')];
    const run = await cli('noise-demo', ...models, '--image', input, '--seed', '8', '--timesteps', '0,100,999', '--out', grid, '--gif', gif, '--denoise-from', '100', '--reconstruction', reconstruction);
    expect(run).toMatchObject({ code: 0, stdout: 'seed 8\n' });
    expect((await sharp(grid).metadata()).format).toBe('png');
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^wrote ${grid} \\(\\d+x\\d+ px, x_t at t = 0,100,999\\)$`)),
      expect.stringMatching(new RegExp(`^wrote ${gif} \\(\\d+x\\d+ px, 3 frames, x_t at t = 0,100,999\\)$`)),
      `wrote ${reconstruction} (8x8 px, the model's reconstruction from x_100)`,
    ]);
  });

  it('generates a label with guidance: by index or name, as the engine computes it, and says so', async () => {
    const args = ['generate', ...conditional, '--model', 'tiny-cond', '--steps', '10', '--seed', '5', '--guidance', '3'];
    const [byIndex, byName, other] = [path.join(out, 'l1.png'), path.join(out, 'l1-name.png'), path.join(out, 'l2.png')];
    const run = await cli(...args, '--label', '1', '--out', byIndex);
    expect(run).toMatchObject({ code: 0, stdout: 'seed 5\n' });
    expect(run.stderr).toContain('(8x8 px, tiny-cond, label class 1, guidance 3, ddim (eta 0), 10 steps, 1 image,');
    expect((await cli(...args, '--label', 'CLASS 1', '--out', byName)).code).toBe(0);
    expect((await cli(...args, '--label', '2', '--out', other)).code).toBe(0);
    const engine = await Engine.load({ modelsDir: path.join(root, 'test/fixtures/conditional') });
    const direct = await imagePng((await engine.generate(engine.validate({ model: 'tiny-cond', label: 'class 1', guidance: 3, steps: 10, seed: 5 }))).images);
    await engine.close();
    const [a, b, c] = await Promise.all([byIndex, byName, other].map((f) => readFile(f)));
    expect(a!.equals(direct)).toBe(true);
    expect(b!.equals(direct)).toBe(true);
    expect(c!.equals(direct)).toBe(false);
  });

  it('runs a model folder given by path in place of the installed model of the same name', async () => {
    // A retrained copy of "tiny": the conditional fixture's weights under tiny's name, next to the installed tiny.
    const copy = path.join(out, 'retrained-tiny');
    await cp(path.join(root, 'test/fixtures/conditional/tiny-cond'), copy, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(copy, 'model.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(path.join(copy, 'model.json'), JSON.stringify({ ...manifest, name: 'tiny' }));
    const file = path.join(out, 'retrained.png');
    const run = await cli('generate', ...models, '--model', copy, '--label', '1', '--guidance', '3', '--steps', '10', '--seed', '5', '--out', file);
    expect(run).toMatchObject({ code: 0, stdout: 'seed 5\n' });
    expect(run.stderr).toContain('(8x8 px, tiny, label class 1, guidance 3,');
    const engine = await Engine.load({ modelsDir: path.join(root, 'test/fixtures/conditional') });
    const direct = await imagePng((await engine.generate(engine.validate({ model: 'tiny-cond', label: 'class 1', guidance: 3, steps: 10, seed: 5 }))).images);
    await engine.close();
    expect((await readFile(file)).equals(direct)).toBe(true);
  });

  it('uses the manifest\'s default model, not the first by name, and lists classes and default guidance', async () => {
    const run = await cli('generate', ...withDefault, '--steps', '2', '--seed', '1', '--label', '0', '--out', path.join(out, 'default.png'));
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('(8x8 px, tiny-cond, label class 0, guidance 2.5, ddim (eta 0), 2 steps');
    const list = (await cli('models', ...withDefault)).stdout;
    expect(list).toMatch(/^tiny\s+8x8x1 .*\n/);
    expect(list).not.toMatch(/^tiny\s.*\(default\)$/m);
    expect(list).toMatch(/^tiny-cond\s+8x8x1 .*\(default\)\n\s+labels: class 0, class 1, class 2; default guidance 2\.5$/m);
  });

  it('lists models and samplers', async () => {
    expect((await cli('models', ...models)).stdout).toMatch(/^tiny\s+8x8x1/);
    const samplers = (await cli('samplers')).stdout;
    // Every sampler with its step range and the paper it implements (authors and year).
    for (const name of ['ddpm', 'ddim', 'dpm-solver', 'euler', 'score-sde']) {
      expect(samplers).toMatch(new RegExp(`^${name}\\s+steps 1\\.\\.\\d+ \\(default \\d+\\)\\s+.*\\([A-Z][a-z]+ et al\\. 20\\d\\d`, 'm'));
    }
    // Each sampler's options under it, from its declaration.
    expect(samplers).toMatch(/^ddim .*\n\s+--option eta \(a number in 0\.\.1, default 0\): .+\n\s+--option use_clipped_model_output \(true or false\): /m);
    expect(samplers).toMatch(/^\s+--option snr \(a number > 0 and <= 1, default 0\.16\): /m);
  });

  it('has --help everywhere', async () => {
    for (const args of [['--help'], ['generate', '--help'], ['noise-demo', '--help'], ['compare', '--help'], ['models', '--help']]) {
      const run = await cli(...args);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/Usage: ddpm-bot/);
    }
  });

  it.each([
    [['generate', '--steps', 'ten', '--out', 'x.png'], /--steps must be an integer in 1..100000/],
    [['generate', '--seed', '4294967296', '--out', 'x.png'], /--seed must be an integer in 0..4294967295/],
    [['generate', '--count', '0', '--out', 'x.png'], /--count must be an integer in 1..16/],
    [['generate', ...models, '--sampler', 'ddpm', '--steps', '5000', '--out', 'x.png'], /steps must be 1..1000 for ddpm \(got 5000\)/],
    [['generate', ...models, '--sampler', 'no-such-sampler', '--out', 'x.png'], /unknown sampler "no-such-sampler"; available: ddim, ddpm, dpm-solver/],
    [['generate', '--scale', '0', '--out', 'x.png'], /--scale must be an integer in 1..16/],
    [['noise-demo', '--scale', '2.5', '--out', 'x.png'], /--scale must be an integer in 1..16/],
    [['generate', ...models, '--model', 'nope', '--out', 'x.png'], /unknown model "nope"; installed: tiny/],
    [['generate', ...models, '--sampler', 'ddim', '--option', 'eta=3', '--out', 'x.png'], /option eta must be a number in 0\.\.1 for sampler ddim \(got 3\)/],
    [['generate', ...models, '--option', 'eta=lots', '--out', 'x.png'], /option eta must be a number in 0\.\.1 \(got "lots"\)/],
    [['generate', ...models, '--sampler', 'ddpm', '--option', 'eta=0.5', '--out', 'x.png'], /sampler ddpm takes no option "eta"; it takes no options/],
    [['generate', ...models, '--sampler', 'euler', '--option', 'eta=0.5', '--out', 'x.png'], /sampler euler takes no option "eta"; its options: ancestral/],
    [['generate', ...models, '--sampler', 'euler', '--option', 'ancestral=yes', '--out', 'x.png'], /option ancestral must be true or false \(got "yes"\)/],
    [['generate', ...models, '--sampler', 'score-sde', '--option', 'corrector_steps=11', '--out', 'x.png'], /option corrector_steps must be an integer in 0\.\.10 for sampler score-sde \(got 11\)/],
    [['generate', ...models, '--option', 'eta', '--out', 'x.png'], /--option takes name=value \(got "eta"\)/],
    [['generate', ...models, '--option', 'eta=0.1', '--option', 'eta=0.2', '--out', 'x.png'], /option eta is given twice/],
    [['generate', ...models, '--eta', '0.5', '--out', 'x.png'], /unknown option '--eta'/],
    [['generate', ...models, '--label', '7', '--out', 'x.png'], /model tiny is not class-conditional; it takes no label/],
    [['generate', ...conditional, '--guidance', '2', '--out', 'x.png'], /guidance needs a label/],
    [['generate', ...conditional, '--label', '3', '--out', 'x.png'], /label index must be 0..2; choose one of: class 0, class 1, class 2/],
    [['generate', ...conditional, '--label', 'dog', '--out', 'x.png'], /unknown label "dog"; choose one of: class 0, class 1, class 2/],
    [['generate', ...conditional, '--label', '1', '--guidance', 'lots', '--out', 'x.png'], /--guidance must be a number/],
    [['generate', ...conditional, '--label', '1', '--guidance', '21', '--out', 'x.png'], /guidance: .*20/],
    [['generate'], /required option '-o, --out <file.png>' not specified/],
    [['noise-demo', ...models, '--timesteps', '5,x', '--out', 'x.png'], /timesteps must be comma-separated integers/],
    [['noise-demo', ...models, '--timesteps', '0,1000', '--out', 'x.png'], /timesteps must be integers in 0..999 \(got 1000\)/],
    [['noise-demo', ...models, '--image', 'package.json', '--out', 'x.png'], /not an image/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('exits 2 with one line for bad input: %j', async (args, message) => {
    const run = await cli(...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
