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
  // 3 s to be deferred on a loaded host; the window is not what this file tests. Room for every run of one
  // comparison at a time; eight requests an hour, so a comparison can run out midway.
  h = await Harness.start({
    label: 'compare',
    tuning: { previewIntervalMs: 100 },
    fake: { initialResponseWindowMs: 20_000 },
    runtime: { LIMIT_PER_HOUR: 8, LIMIT_CONCURRENT_PER_USER: 10 },
  });
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

  it('a run refused by the hourly limit says so, with the reason, in its row and its own message; the runs before it finish', async () => {
    const samplers = h.engine.samplers.list().map((p) => p.name);
    const erin = h.fake.user('erin');
    const requester = { platform: 'discord' as const, workspaceId: h.fake.guildId, userId: erin.id };
    // Six of erin's eight requests this hour are spent: the comparison's first two runs are admitted, the rest refused.
    for (let seed = 0; seed < 6; seed++) await h.runtime.service.submitGeneration({ requester, params: { model: 'tiny', sampler: 'ddim', steps: 1, seed }, replyTo: {} });
    const interaction = h.fake.command(erin, 'compare', { model: 'tiny', seed: 3, steps: 4 });
    const reason = /not run: You have made 8 requests in the last hour \(limit 8\)\. Try again in \d+ minutes\./;
    const table = await h.fake.waitFor(() => {
      const content = interaction.response?.content ?? '';
      const lines = content.split('\n');
      const row = (s: string) => lines.find((l) => l.startsWith(`${s} `)) ?? '';
      const done = samplers.every((s, i) => (i < 2 ? /\d+\.\d\d$/.test(row(s)) : reason.test(row(s))));
      return done ? content : null;
    }, 120_000, 'the table with two finished runs and three refused');
    expect(table).toContain('seed 3, tiny');
    const followups = await h.fake.waitFor(() => interaction.followups.length === samplers.length && interaction.followups.slice(0, 2).every(isFinal) && interaction.followups, 60_000, 'every run answered');
    for (const [i, sampler] of samplers.entries()) {
      const message = followups[i]!;
      if (i < 2) expect(embedField(message, 'Sampler')).toBe(sampler);
      else expect(message.content).toMatch(new RegExp(`^${sampler}, 4 steps: ${reason.source}$`));
    }
    expect(await h.runtime.service.listRecentRequests(requester, 20)).toHaveLength(8);
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
