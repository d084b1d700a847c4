/**
 * `ddpm-bot vary` and `ddpm-bot interpolate`, run as a user runs them (node bin/ddpm-bot.js) on the tiny
 * ONNX fixtures: byte-identical output for the same options and seeds, the engine's own pixels, and one
 * line naming what to fix for bad input. `vary --from <request id>` and `interpolate --from-a <request id>`
 * read a request from a running service (the real one, on a throwaway Postgres) and give the same bytes as
 * the service's own variation and interpolation.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { Engine } from '../../src/engine/index.ts';
import { startService, type ServiceHandle } from '../../src/main.ts';
import { batchPng } from '../../src/render/index.ts';
import { createTestDatabase, type TestDatabase } from '../jobs/support/database.ts';
import { waitFor } from '../jobs/support/runtime.ts';
import { cli, root } from './support/run-cli.ts';

const models = ['--models-dir', path.join(root, 'test/fixtures')];
const conditional = ['--models-dir', path.join(root, 'test/fixtures/conditional')];
let out: string;
let engine: Engine;


/** An 8x8 gradient, as a user would vary their own drawing. */
async function drawing(): Promise<string> {
  const file = path.join(out, 'drawing.png');
  const pixels = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 4) % 256));
  await sharp(pixels, { raw: { width: 8, height: 8, channels: 1 } }).png().toFile(file);
  return file;
}

beforeAll(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'ddpm-cli-edits-'));
  engine = await Engine.load({ modelsDir: path.join(root, 'test/fixtures'), executionProvider: 'cpu', threads: 1 });
});

afterAll(async () => {
  await engine?.close();
});

describe('ddpm-bot vary', () => {
  it('varies a PNG: prints the noise seed, the same options and seed give the same bytes, the engine pixels', async () => {
    const from = await drawing();
    const args = ['vary', ...models, '--model', 'tiny', '--from', from, '--strength', '0.6', '--steps', '10', '--count', '2', '--seed', '21'];
    const a = path.join(out, 'va.png');
    const b = path.join(out, 'vb.png');
    const first = await cli(...args, '--out', a);
    expect(first).toMatchObject({ code: 0, stdout: 'seed 21\n' });
    expect(first.stderr).toMatch(/wrote .*va\.png .*2 variations of .* at strength 0\.6, tiny, ddim, 10 steps/);
    expect((await cli(...args, '--out', b)).code).toBe(0);
    expect((await readFile(a)).equals(await readFile(b))).toBe(true);
    const direct = await engine.vary(engine.validateVariation({ model: 'tiny', steps: 10, count: 2, seed: 21, strength: 0.6 }), await engine.sourceImage('tiny', await readFile(from)));
    expect((await readFile(a)).equals(await batchPng(direct.images))).toBe(true);
  }, 240_000);

  it('names what to fix: not a file nor a request id, strength, a sampler that cannot vary, an unreachable service', async () => {
    const from = await drawing();
    const target = ['--out', path.join(out, 'x.png')];
    const cases: Array<[string[], RegExp]> = [
      [['--from', 'missing.png'], /--from missing\.png: neither an image file nor a request id/],
      [['--from', from, '--strength', '1.5'], /strength: .*0\.9/],
      [['--from', from, '--strength', 'lots'], /--strength must be a number/],
      [['--from', from, '--sampler', 'euler', '--steps', '10'], /sampler euler .* cannot start from a noised image; choose ddim, ddpm or dpm-solver/],
      [['--from', '00000000-0000-4000-8000-000000000000', '--service', 'http://127.0.0.1:9'], /cannot reach the service at http:\/\/127\.0\.0\.1:9/],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli('vary', ...models, '--model', 'tiny', ...args, ...target)));
    runs.forEach((run, i) => {
      expect(run.code, cases[i]![0].join(' ')).toBe(2);
      expect(run.stderr).toMatch(cases[i]![1]);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    });
  }, 240_000);

  describe('from a request of the running service', () => {
    let db: TestDatabase;
    let app: ServiceHandle;
    let base: string;

    beforeAll(async () => {
      db = await createTestDatabase('cli_vary');
      const config = loadConfig({ DATABASE_URL: db.url, PORT: '0', MIGRATE_ON_START: 'false', WORKER_POLL_MS: '100' });
      app = await startService({ config, log: pino({ level: 'silent' }), engine });
      base = `http://127.0.0.1:${app.port}`;
    }, 120_000);

    afterAll(async () => {
      await app?.stop();
      await db?.drop();
    });

    const post = async (p: string, body: unknown) => (await fetch(`${base}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<{ id: string }>;
    const done = (id: string) =>
      waitFor(async () => {
        const view = (await (await fetch(`${base}/api/requests/${id}`)).json()) as { status: string };
        return view.status === 'succeeded' ? view : null;
      }, 90_000);

    it("uses the request's model, sampler and steps, and writes what the service's own variation stored", async () => {
      const { id } = await post('/api/generate', { model: 'tiny', sampler: 'ddim', steps: 8, seed: 5, count: 2 });
      await done(id);
      const file = path.join(out, 'from-request.png');
      const run = await cli('vary', ...models, '--from', id, '--index', '1', '--seed', '9', '--strength', '0.5', '--service', base, '--out', file);
      expect(run, run.stderr).toMatchObject({ code: 0, stdout: 'seed 9\n' });
      expect(run.stderr).toMatch(/tiny, ddim, 8 steps/);
      const served = await post(`/api/requests/${id}/vary`, { index: 1, seed: 9, strength: 0.5 });
      await done(served.id);
      const stored = Buffer.from(await (await fetch(`${base}/api/requests/${served.id}/images/0.png`)).arrayBuffer());
      expect((await readFile(file)).equals(stored)).toBe(true);

      const missing = await cli('vary', ...models, '--from', id, '--index', '5', '--service', base, '--out', file);
      expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining('has no image 5 (--index)') });
      const unknown = await cli('vary', ...models, '--from', '00000000-0000-4000-8000-000000000000', '--service', base, '--out', file);
      expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining('has no such request') });
    }, 240_000);

    it("interpolate --from-a <request id>: the request's image inverted, its parameters the defaults; the service's own interpolation's strip", async () => {
      const { id } = await post('/api/generate', { model: 'tiny', sampler: 'ddim', steps: 8, seed: 6, count: 2 });
      await done(id);
      const file = path.join(out, 'interpolate-from-request.png');
      const run = await cli('interpolate', ...models, '--from-a', id, '--index-a', '1', '--seed-b', '3', '--frames', '3', '--service', base, '--out', file);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(new RegExp(`3 frames, image 1 of ${id} to seed 3, tiny, ddim, 8 steps`));
      const served = await post('/api/interpolate', { from: { request: id, index: 1 }, seed_b: 3, frames: 3 });
      await done(served.id);
      const stored = Buffer.from(await (await fetch(`${base}/api/requests/${served.id}/images/grid.png`)).arrayBuffer());
      expect((await readFile(file)).equals(stored)).toBe(true);
      const missing = await cli('interpolate', ...models, '--seed-a', '1', '--from-b', id, '--index-b', '4', '--service', base, '--out', file);
      expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining(`--from-b ${id}: the request has no image 4 (--index-b)`) });
    }, 240_000);
  });
});

describe('ddpm-bot interpolate', () => {
  it('writes the strip and the GIF; the same seeds give the same bytes; the ends are the two seeds images', async () => {
    const args = ['interpolate', ...models, '--model', 'tiny', '--steps', '6', '--seed-a', '1', '--seed-b', '2', '--frames', '4'];
    const [s1, g1, s2, g2] = ['s1.png', 'g1.gif', 's2.png', 'g2.gif'].map((f) => path.join(out, f));
    const first = await cli(...args, '--out', s1!, '--gif', g1!);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/wrote .*s1\.png .*4 frames, seed 1 to seed 2/);
    expect(first.stderr).toMatch(/wrote .*g1\.gif .*4 frames/);
    expect((await cli(...args, '--out', s2!, '--gif', g2!)).code).toBe(0);
    expect((await readFile(s1!)).equals(await readFile(s2!))).toBe(true);
    expect((await readFile(g1!)).equals(await readFile(g2!))).toBe(true);
    expect((await sharp(await readFile(g1!), { animated: true }).metadata()).pages).toBe(4);
    const direct = await engine.interpolate(engine.validateInterpolation({ model: 'tiny', steps: 6, seed_a: 1, seed_b: 2, frames: 4 }));
    expect((await readFile(s1!)).equals(direct.stripPng)).toBe(true);
  }, 240_000);

  it('either end an image file, inverted: the engine\'s frames for it; --from-a and --from-b both images', async () => {
    const from = await drawing();
    const [s1, s2, s3] = ['from-a.png', 'from-b.png', 'both.png'].map((f) => path.join(out, f));
    const [first, second, both] = await Promise.all([
      cli('interpolate', ...models, '--model', 'tiny', '--steps', '6', '--from-a', from, '--seed-b', '2', '--frames', '3', '--out', s1!),
      cli('interpolate', ...models, '--model', 'tiny', '--steps', '6', '--seed-a', '2', '--from-b', from, '--frames', '3', '--out', s2!),
      cli('interpolate', ...models, '--model', 'tiny', '--steps', '6', '--from-a', from, '--from-b', from, '--frames', '2', '--out', s3!),
    ]);
    for (const run of [first, second, both]) expect(run.code, run.stderr).toBe(0);
    expect(first.stderr).toMatch(/3 frames, .*drawing\.png to seed 2, tiny, ddim, 6 steps/);
    expect(second.stderr).toMatch(/3 frames, seed 2 to .*drawing\.png/);
    const image = await engine.sourceImage('tiny', await readFile(from));
    // The service's interpolation from an image computes the first file.
    const served = await engine.interpolateFromImage(engine.validateImageInterpolation({ model: 'tiny', steps: 6, seed_b: 2, frames: 3 }), image);
    expect((await readFile(s1!)).equals(served.stripPng)).toBe(true);
    const params = engine.validateInterpolationEnds({ model: 'tiny', steps: 6, frames: 3 });
    expect((await readFile(s2!)).equals((await engine.interpolateEnds(params, { seed: 2 }, { image })).stripPng)).toBe(true);
    expect((await readFile(s3!)).equals((await engine.interpolateEnds({ ...params, frames: 2 }, { image }, { image })).stripPng)).toBe(true);
  }, 240_000);

  it('between two labels at one seed on a conditional model', async () => {
    const file = path.join(out, 'labels.png');
    const run = await cli('interpolate', ...conditional, '--steps', '5', '--label-a', '0', '--label-b', '2', '--seed', '3', '--frames', '3', '--out', file);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/3 frames, label 0 to label 2/);
  }, 240_000);

  // Nine CLI processes at once: on two loaded cores, eleven of them took over 240 s to start and answer.
  it('names what to fix', async () => {
    const target = ['--out', path.join(out, 'x.png')];
    const cases: Array<[string[], RegExp]> = [
      [['--seed-a', '1'], /give the other end too: --seed-b or --from-b/],
      [[], /give the two ends, --seed-a or --from-a and --seed-b or --from-b .*, or --label-a and --label-b with --seed/],
      [['--seed-a', '1', '--seed-b', '2', '--label-a', '0'], /leave out --seed-a, --seed-b, --from-a and --from-b/],
      [['--seed-a', '1', '--from-a', 'x.png', '--seed-b', '2'], /give --seed-a or --from-a, not both/],
      [['--seed-a', '1', '--seed-b', '2', '--index-b', '1'], /--index-b picks an image of the request given with --from-b/],
      [['--from-a', 'missing.png', '--seed-b', '2'], /--from-a missing\.png: neither an image file nor a request id/],
      [['--seed-a', '1', '--seed-b', '2', '--sampler', 'ddpm'], /sampler ddpm cannot invert .* choose a sampler that can invert/],
      [['--seed-a', '1', '--seed-b', '2', '--frames', '40'], /--frames must be an integer in 2\.\.16/],
      [['--label-a', '0', '--label-b', '1'], /label_a: model tiny is not class-conditional/],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli('interpolate', ...models, '--model', 'tiny', ...args, ...target)));
    runs.forEach((run, i) => {
      expect(run.code, cases[i]![0].join(' ')).toBe(2);
      expect(run.stderr).toMatch(cases[i]![1]);
    });
  }, 480_000);
});
