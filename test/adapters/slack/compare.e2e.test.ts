/**
 * /compare through the real Bolt app against the fake Slack, the real job service and the real engine on
 * the tiny model: one seed through every installed sampler, queued one after another; the table (sampler,
 * steps, seconds) in a channel message, each run's status message and image in its thread.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imagePng, upscalePng } from '../../../src/render/index.ts';
import { requestIdOf } from '../../fakes/slack/fake-slack-api.ts';
import type { Harness } from './support/harness.ts';
import { startHarness } from './support/harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ label: 'slack_compare' });
});
afterAll(async () => {
  await h?.close();
});

describe('Slack /compare', () => {
  it('runs one seed through every sampler: each image in the table\'s thread, the table of steps and seconds edited in place', async () => {
    const channel = 'C0COMPARE';
    const samplers = h.engine.samplers.list().map((p) => p.name);
    const res = await h.command('/compare', 'model:tiny seed:11 steps:4', { channel, user: 'U0CAROL' });
    expect(res.body).toBe('');
    const uploads = await h.fake.waitFor(() => h.fake.uploadsIn(channel).length === samplers.length && h.fake.uploadsIn(channel), 240_000, 'every run uploaded');
    const table = h.fake.messages.find((m) => m.channel === channel && m.threadTs === undefined)!;
    expect(table.initialText).toContain('<@U0CAROL> `/compare` seed 11, tiny');
    for (const [i, sampler] of samplers.entries()) {
      const upload = uploads[i]!;
      expect(upload.threadTs, sampler).toBe(table.ts);
      const view = (await h.service.getRequest(requestIdOf(upload)))!;
      expect(view).toMatchObject({ sampler, steps: 4, seed: 11, requester: { userId: 'U0CAROL' } });
      const direct = await h.engine.generate(h.engine.validate({ model: 'tiny', sampler, steps: 4, seed: 11 }));
      expect(upload.files[0]!.bytes.equals(await upscalePng(await imagePng(direct.images))), sampler).toBe(true);
    }
    // One status message per run in the thread, each finished with its buttons; nothing else there.
    const thread = h.fake.messages.filter((m) => m.threadTs === table.ts);
    expect(thread.map((m) => m.initialText.match(/`\/compare` (\S+),/)?.[1])).toEqual(samplers);
    const text = await h.fake.waitFor(() => (samplers.every((s) => new RegExp(`^${s}\\s+4\\s+\\d+\\.\\d\\d$`, 'm').test(table.text)) ? table.text : null), 30_000, 'the finished table');
    expect(text).toMatch(/^sampler\s+steps\s+seconds$/m);
    expect(h.fake.messages.filter((m) => m.channel === channel && m.threadTs === undefined)).toHaveLength(1);
  }, 300_000);

  it('refuses a step count some sampler cannot take, privately and before anything is posted', async () => {
    const channel = 'C0COMPARE2';
    const res = await h.command('/compare', 'model:tiny steps:1000', { channel });
    expect(JSON.parse(res.body)).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/Please fix `steps`/) });
    const unknown = await h.command('/compare', 'sampler:ddim', { channel });
    expect(JSON.parse(unknown.body).text).toContain('Unknown option "sampler"');
    expect(h.fake.messages.filter((m) => m.channel === channel)).toHaveLength(0);
  });
});
