/**
 * /generate end to end: the real discord.js client against the fake Discord, the real job service
 * on Postgres and the real engine on the tiny model.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchPng, imagePng } from '../../../src/render/index.ts';
import { Harness, embedField, embedTitle, isFinal, requestIdOf } from './support/harness.ts';

const run = promisify(execFile);
let h: Harness;

beforeAll(async () => {
  // Short enough that the tiny model's 1,000 steps outlast it on a fast machine: with 100 ms, one finished
  // before the first status edit was due and rightly showed no live status, failing the test.
  h = await Harness.start({ label: 'generate', tuning: { previewIntervalMs: 20 } });
});

afterAll(async () => {
  await h?.close();
});

describe('/generate', () => {
  it('defers at once, shows progress with previews, and ends with the CLI-identical image, its parameters and buttons', async () => {
    const alice = h.fake.user('alice');
    const interaction = h.fake.command(alice, 'generate', { model: 'tiny', sampler: 'ddpm', steps: 1000, seed: 4242 });
    const final = await h.result(interaction);

    // Deferred (thinking…) well inside Discord's 3 s, then edited.
    expect(interaction.callbacks).toHaveLength(1);
    expect(interaction.callbacks[0]!.type).toBe(5);
    expect(interaction.callbacks[0]!.at - interaction.createdAt).toBeLessThan(3_000);

    const live = interaction.edits.filter((e) => !/^✨/u.test(String(e.embeds[0]?.['title'])));
    const previews = live.filter((e) => String(e.embeds[0]?.['title']).startsWith('🌀 Denoising'));
    expect(previews.length).toBeGreaterThanOrEqual(1);
    const withImage = previews.find((e) => e.files.some((f) => f.filename === 'preview.png'));
    expect(withImage, 'a preview edit carries the predicted x0').toBeDefined();
    expect(String(withImage!.embeds[0]?.['title'])).toMatch(/step \d+\/1000 \(\d+%\)/);
    const preview = withImage!.files.find((f) => f.filename === 'preview.png')!;
    expect(await sharp(preview.bytes).metadata()).toMatchObject({ width: 256, height: 256 });
    // Throttled: consecutive live edits at least the preview interval apart (timer jitter allowed).
    for (let i = 1; i < live.length; i++) expect(live[i]!.at - live[i - 1]!.at).toBeGreaterThanOrEqual(16);

    expect(embedTitle(final)).toBe('✨ Done');
    expect(embedField(final, 'Model')).toBe('tiny');
    expect(embedField(final, 'Sampler')).toBe('ddpm');
    expect(embedField(final, 'Steps')).toBe('1000');
    expect(embedField(final, 'Seed')).toBe('`4242`');
    expect(embedField(final, 'Duration')).toMatch(/s sampling/);
    const requestId = requestIdOf(final);
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);

    const display = final.files.find((f) => f.filename === 'ddpm-4242.png')!;
    const original = final.files.find((f) => f.filename === 'ddpm-4242-original.png')!;
    expect(await sharp(display.bytes).metadata()).toMatchObject({ width: 256, height: 256 });
    expect(await sharp(original.bytes).metadata()).toMatchObject({ width: 8, height: 8 });

    const dir = await mkdtemp(path.join(tmpdir(), 'ddpm-discord-'));
    try {
      const out = path.join(dir, 'x.png');
      await run(process.execPath, ['bin/ddpm-bot.js', 'generate', '--models-dir', 'test/fixtures', '--model', 'tiny', '--sampler', 'ddpm', '--steps', '1000', '--seed', '4242', '--out', out]);
      expect(Buffer.compare(original.bytes, await readFile(out))).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // Rows: the one image's Vary (subtle), Vary and Vary (strong), the actions, the "same seed with…" replay menu.
    const ids = final.components.map((row) => (row as { components: { custom_id?: string }[] }).components.map((c) => c.custom_id?.split(':').slice(0, 2).join(':')));
    expect(ids).toEqual([['ddpm:vary-subtle', 'ddpm:vary', 'ddpm:vary-strong'], ['ddpm:reroll', 'ddpm:animate', 'ddpm:interpolate-with', 'ddpm:delete'], ['ddpm:replay']]);
    expect(final.allowedMentions).toEqual({ parse: [] });
  });

  it('several images: grid for display plus every original, each equal to the engine and render output', async () => {
    const bob = h.fake.user('bob');
    const interaction = h.fake.command(bob, 'generate', { model: 'tiny', sampler: 'ddim', steps: 20, seed: 7, eta: 0.5, count: 3 });
    const final = await h.result(interaction);
    expect(embedTitle(final)).toBe('✨ 3 images');
    expect(embedField(final, 'Options')).toBe('eta 0.5');
    expect(String(final.embeds[0]?.['footer'] && (final.embeds[0]['footer'] as { text: string }).text)).toContain('Reproduce: /generate model:tiny sampler:ddim steps:20 eta:0.5 seed:7 count:3');
    const names = final.files.map((f) => f.filename);
    expect(names).toEqual(['ddpm-7.png', 'ddpm-7-1-original.png', 'ddpm-7-2-original.png', 'ddpm-7-3-original.png']);
    const expected = await h.engine.generate(h.engine.validate({ model: 'tiny', sampler: 'ddim', steps: 20, seed: 7, options: { eta: 0.5 }, count: 3 }));
    const grid = await batchPng(expected.images);
    const gridMeta = await sharp(grid).metadata();
    const display = await sharp(final.files[0]!.bytes).metadata();
    expect(display.width! % gridMeta.width!).toBe(0);
    expect(display.width! / gridMeta.width!).toBe(display.height! / gridMeta.height!);
    for (let i = 0; i < 3; i++) expect(Buffer.compare(final.files[i + 1]!.bytes, await imagePng(expected.images, i))).toBe(0);
  });

  it("takes a sampler's own options as typed slash options (a boolean, an enum, an integer) and generates with them", async () => {
    const fay = h.fake.user('fay');
    const interaction = h.fake.command(fay, 'generate', { model: 'tiny', sampler: 'score-sde', steps: 4, seed: 9, predictor: 'euler_maruyama', corrector_steps: 2, probability_flow: true });
    const final = await h.result(interaction);
    expect(embedField(final, 'Options')).toBe('corrector_steps 2, predictor euler_maruyama, probability_flow true, snr 0.16');
    const options = { predictor: 'euler_maruyama', corrector_steps: 2, probability_flow: true };
    const expected = await h.engine.generate(h.engine.validate({ model: 'tiny', sampler: 'score-sde', steps: 4, seed: 9, options }));
    expect(Buffer.compare(final.files[1]!.bytes, await imagePng(expected.images, 0))).toBe(0);
    expect((await h.runtime.service.getRequest(requestIdOf(final)))?.options).toEqual({ ...options, snr: 0.16 });
  });

  it('two users at once each get their own image, and nobody is mentioned', async () => {
    const carol = h.fake.user('carol');
    const dave = h.fake.user('dave');
    const first = h.fake.command(carol, 'generate', { model: 'tiny', sampler: 'ddim', steps: 30, seed: 111 });
    const second = h.fake.command(dave, 'generate', { model: 'tiny', sampler: 'ddim', steps: 30, seed: 222 });
    const [a, b] = await Promise.all([h.result(first), h.result(second)]);
    expect(embedField(a, 'Seed')).toBe('`111`');
    expect(embedField(b, 'Seed')).toBe('`222`');
    expect(requestIdOf(a)).not.toBe(requestIdOf(b));
    const viewA = await h.runtime.service.getRequest(requestIdOf(a));
    const viewB = await h.runtime.service.getRequest(requestIdOf(b));
    expect(viewA?.requester.userId).toBe(carol.id);
    expect(viewB?.requester.userId).toBe(dave.id);
    const expectedA = await h.engine.generate(h.engine.validate({ model: 'tiny', sampler: 'ddim', steps: 30, seed: 111 }));
    expect(Buffer.compare(a.files[1]!.bytes, await batchPng(expectedA.images))).toBe(0);
    expect(h.fake.channelMessages).toHaveLength(0);
  });

  it('rides out Discord rate limits on edits: the result still arrives, once', async () => {
    const gus = h.fake.user('gus');
    h.fake.rateLimitEdits(3, 0.2);
    const interaction = h.fake.command(gus, 'generate', { model: 'tiny', sampler: 'ddim', steps: 10, seed: 55 });
    const final = await h.result(interaction);
    expect(embedField(final, 'Seed')).toBe('`55`');
    const limited = h.fake.calls.filter((c) => c.status === 429);
    expect(limited.length).toBe(3);
    expect(interaction.edits.filter((e) => /^✨/u.test(String(e.embeds[0]?.['title']))).length).toBe(1);
  });

  it('answers invalid options privately at once, naming the option, without deferring', async () => {
    const erin = h.fake.user('erin');
    const cases: [Record<string, string | number | boolean>, RegExp][] = [
      [{ model: 'tiny', sampler: 'dpm-solver', steps: 1000 }, /`steps`.*1\.\.999/],
      // An option the chosen sampler does not take is refused with the list of those it does.
      [{ model: 'tiny', sampler: 'ddpm', eta: 0.3 }, /`eta`: sampler ddpm takes no option "eta"; it takes no options/],
      [{ model: 'tiny', sampler: 'euler', eta: 0.3 }, /`eta`: sampler euler takes no option "eta"; its options: ancestral$/],
      [{ model: 'tiny', sampler: 'ddim', ancestral: true }, /`ancestral`: sampler ddim takes no option "ancestral"; its options: eta, use_clipped_model_output/],
      // Discord checks declared bounds; an exclusive one (snr > 0) is the engine's, and named with the range.
      [{ model: 'tiny', sampler: 'score-sde', snr: 0 }, /`snr`: option snr must be a number > 0 and <= 1 for sampler score-sde \(got 0\)/],
      [{ model: 'no-such-model' }, /`model`.*unknown model/],
    ];
    for (const [options, pattern] of cases) {
      const interaction = h.fake.command(erin, 'generate', options);
      const text = await h.ephemeralError(interaction);
      expect(text).toMatch(pattern);
      expect(interaction.callbacks).toHaveLength(1);
      expect(interaction.callbacks[0]!.type).toBe(4);
    }
    expect((await h.runtime.service.listRecentRequests({ platform: 'discord', userId: erin.id, workspaceId: h.fake.guildId }))).toHaveLength(0);
  });

  it('/history lists the caller’s requests with seeds, privately; /info shows parameters and timings', async () => {
    const frank = h.fake.user('frank');
    const done = await h.result(h.fake.command(frank, 'generate', { model: 'tiny', sampler: 'ddim', steps: 5, seed: 99 }));
    const id = requestIdOf(done);

    const history = h.fake.command(frank, 'history');
    const list = await h.original(history, (m) => m.embeds.length > 0, '/history reply');
    expect(list.flags & 64).toBe(64);
    expect(String(list.embeds[0]?.['description'])).toContain(id);
    expect(String(list.embeds[0]?.['description'])).toContain('seed 99');

    const info = h.fake.command(frank, 'info', { request_id: id });
    const details = await h.original(info, (m) => m.embeds.length > 0, '/info reply');
    expect(details.flags & 64).toBe(64);
    expect(embedField(details, 'Status')).toBe('succeeded');
    expect(embedField(details, 'Seed')).toBe('`99`');
    expect(embedField(details, 'Sampling')).toMatch(/s$/);

    const unknown = h.fake.command(frank, 'info', { request_id: 'nope' });
    expect(await h.ephemeralError(unknown)).toMatch(/no request `nope`/);
  });

  it('never leaves a result unfinished: every /generate so far got exactly one final edit', () => {
    const publicDeferrals = h.fake.interactions.filter((i) => i.callbacks[0]?.type === 5 && (i.response?.flags ?? 0) === 0);
    expect(publicDeferrals.length).toBeGreaterThanOrEqual(6);
    for (const interaction of publicDeferrals) {
      expect(interaction.edits.filter((e) => /^(✨|❌)/u.test(String(e.embeds[0]?.['title'] ?? ''))).length).toBe(1);
      expect(isFinal(interaction.response!)).toBe(true);
    }
  });
});
