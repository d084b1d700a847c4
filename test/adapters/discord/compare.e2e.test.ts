/**
 * /compare end to end: the real discord.js client against the fake Discord, the real job service and
 * the real engine on the tiny model. One seed through every installed sampler, queued one after
 * another; each run's image in its own follow-up, the table (sampler, steps, seconds) in the reply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imagePng } from '../../../src/render/index.ts';
import { Harness, embedField, isFinal } from './support/harness.ts';

let h: Harness;

beforeAll(async () => {
  // The first command of a cold bot in a process that also runs the worker may take longer than Discord's
  // 3 s to be deferred on a loaded host; the window is not what this file tests.
  h = await Harness.start({ label: 'compare', tuning: { previewIntervalMs: 100 }, fake: { initialResponseWindowMs: 20_000 } });
});

afterAll(async () => {
  await h?.close();
});

describe('/compare', () => {
  it('runs one seed through every sampler: a follow-up with the image each, and the table of steps and seconds', async () => {
    const samplers = h.engine.samplers.list().map((p) => p.name);
    const carol = h.fake.user('carol');
    const interaction = h.fake.command(carol, 'compare', { model: 'tiny', seed: 11, steps: 4 });
    await h.fake.waitFor(
      () => interaction.followups.length === samplers.length && interaction.followups.every(isFinal),
      240_000,
      'every run delivered',
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; follow-ups ${interaction.followups.length}, table: ${interaction.response?.content}`);
    });
    for (const [i, sampler] of samplers.entries()) {
      const message = interaction.followups[i]!;
      expect(embedField(message, 'Sampler')).toBe(sampler);
      expect(embedField(message, 'Seed')).toBe('`11`');
      const original = message.files.find((f) => f.filename.endsWith('-original.png'))!;
      expect(original, `${sampler}: ${message.files.map((f) => f.filename).join(', ')}`).toBeDefined();
      const direct = await h.engine.generate(h.engine.validate({ model: 'tiny', sampler, steps: 4, seed: 11 }));
      expect(original.bytes.equals(await imagePng(direct.images))).toBe(true);
    }
    const table = await h.fake.waitFor(() => {
      const content = interaction.response?.content ?? '';
      return samplers.every((s) => new RegExp(`^${s}\\s+4\\s+\\d+\\.\\d\\d$`, 'm').test(content)) ? content : null;
    }, 30_000, 'the finished table');
    expect(table).toContain('seed 11, tiny');
    expect(table).toMatch(/^sampler\s+steps\s+seconds$/m);
  }, 300_000);

  it('refuses a step count some sampler cannot take, privately and before anything runs', async () => {
    const dave = h.fake.user('dave');
    const interaction = h.fake.command(dave, 'compare', { model: 'tiny', steps: 1000 });
    expect(await h.ephemeralError(interaction)).toMatch(/steps/);
    // The public "thinking…" message is gone and no run has a message.
    await h.fake.waitFor(() => interaction.response?.deleted, 10_000, 'the public message removed');
    expect(interaction.followups.filter((f) => (f.flags & 64) === 0)).toHaveLength(0);
  });
});
