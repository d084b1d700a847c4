/**
 * Vary buttons, /interpolate and Interpolate with… through the real Bolt app: each queues a request
 * delivered like /generate's, with the images the engine computes for the stored seeds, and refusals
 * are private.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imagePng, upscalePng } from '../../../src/render/index.ts';
import { requestIdOf } from '../../fakes/slack/fake-slack-api.ts';
import { buttonPayload } from '../../fakes/slack/slack-requests.ts';
import type { Harness } from './support/harness.ts';
import { startHarness } from './support/harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ label: 'slack_edits' });
});
afterAll(async () => {
  await h?.close();
});

async function upload(channel: string, n: number) {
  return h.fake.waitFor(() => h.fake.uploadsIn(channel)[n], 90_000, `upload ${n} in ${channel}`);
}

async function buttonsOf(channel: string, id: string) {
  return h.fake.waitFor(() => h.fake.messages.find((m) => m.channel === channel && JSON.stringify(m.blocks ?? null).includes(id)), 10_000, 'buttons');
}

function actionIds(blocks: unknown): string[] {
  return [...JSON.stringify(blocks).matchAll(/"action_id":"([^"]+)"/g)].map((m) => m[1]!);
}

describe('Slack edits', () => {
  it('V2 varies image 2 of a grid; the upload is the engine\'s variation for the stored noise seed', async () => {
    const channel = 'C0VARY';
    await h.command('/generate', 'model:tiny sampler:ddim steps:10 seed:5 count:2', { channel });
    const id = requestIdOf(await upload(channel, 0));
    const buttons = await buttonsOf(channel, id);
    expect(actionIds(buttons.blocks)).toEqual(['reroll', 'animation', 'interpolate_with', 'vary:0', 'vary:1']);
    await h.interact(buttonPayload({ user: 'U0BOB', channel, messageTs: buttons.ts, actionId: 'vary:1', value: id, responseUrl: h.fake.responseUrl() }));
    const varied = await upload(channel, 1);
    expect(varied.initialComment).toContain(`variation of \`${id}\` image 2`);
    const view = (await h.service.getRequest(requestIdOf(varied)))!;
    expect(view).toMatchObject({ kind: 'vary', derivedFrom: id, requester: { userId: 'U0BOB' }, variation: { strength: 0.5, source: { requestId: id, index: 1 } } });
    const source = await h.engine.sourceImage('tiny', (await h.service.getImage(id, 1))!.bytes);
    const direct = await h.engine.vary(h.engine.validateVariation({ model: 'tiny', sampler: 'ddim', steps: 10, seed: view.seed }), source);
    expect(varied.files[0]!.bytes.equals(await upscalePng(await imagePng(direct.images, 0)))).toBe(true);
  }, 200_000);

  it('a single image offers Vary (subtle), Vary and Vary (strong); strong varies at 0.7, the engine\'s image', async () => {
    const channel = 'C0STRONG';
    await h.command('/generate', 'model:tiny sampler:ddim steps:10 seed:6', { channel });
    const id = requestIdOf(await upload(channel, 0));
    const buttons = await buttonsOf(channel, id);
    expect(actionIds(buttons.blocks)).toEqual(['reroll', 'animation', 'interpolate_with', 'vary:0:subtle', 'vary:0', 'vary:0:strong']);
    await h.interact(buttonPayload({ user: 'U0BOB', channel, messageTs: buttons.ts, actionId: 'vary:0:strong', value: id, responseUrl: h.fake.responseUrl() }));
    const varied = await upload(channel, 1);
    expect(varied.initialComment).toContain('strength `0.7`');
    const view = (await h.service.getRequest(requestIdOf(varied)))!;
    expect(view).toMatchObject({ kind: 'vary', variation: { strength: 0.7, source: { requestId: id, index: 0 } } });
    const source = await h.engine.sourceImage('tiny', (await h.service.getImage(id, 0))!.bytes);
    const direct = await h.engine.vary(h.engine.validateVariation({ model: 'tiny', sampler: 'ddim', steps: 10, seed: view.seed, strength: 0.7 }), source);
    expect(varied.files[0]!.bytes.equals(await upscalePng(await imagePng(direct.images, 0)))).toBe(true);
  }, 200_000);

  it('/interpolate uploads the strip and the GIF, byte-identical to the engine; bad frames are refused privately', async () => {
    const channel = 'C0INTERP';
    await h.command('/interpolate', 'model:tiny seed_a:1 seed_b:2 frames:4 steps:10', { channel });
    const result = await upload(channel, 0);
    expect(result.files.map((f) => f.filename)).toEqual(['ddpm-tiny-1-interpolation.png', 'ddpm-tiny-1-interpolation.gif']);
    const direct = await h.engine.interpolate(h.engine.validateInterpolation({ model: 'tiny', sampler: 'ddim', steps: 10, seed_a: 1, seed_b: 2, frames: 4 }));
    expect(result.files[1]!.bytes.equals(direct.gif)).toBe(true);
    expect(result.files[0]!.bytes.equals(await upscalePng(direct.stripPng))).toBe(true);
    const bad = await h.command('/interpolate', 'seed_a:1 seed_b:2 frames:40', { channel: 'C0INTERP2' });
    expect(bad.body).toBe('');
    const reply = await h.fake.waitFor(() => h.fake.responses.find((r) => r.id === bad.responseId)?.body, 10_000, 'ephemeral');
    expect(reply.text).toMatch(/Please fix `frames`/);
    const neither = await h.command('/interpolate', 'frames:4', { channel: 'C0INTERP2' });
    expect(JSON.parse(neither.body).text).toMatch(/seed_a and seed_b/);
  }, 200_000);

  it('Interpolate with… offers the clicker\'s own generations privately and morphs into the picked one; someone else\'s is refused', async () => {
    const channel = 'C0WITH';
    await h.command('/generate', 'model:tiny sampler:ddim steps:10 seed:21', { channel, user: 'U0OTTO' });
    const first = requestIdOf(await upload(channel, 0));
    await h.command('/generate', 'model:tiny sampler:ddim steps:10 seed:22', { channel, user: 'U0OTTO' });
    const second = requestIdOf(await upload(channel, 1));
    const buttons = await buttonsOf(channel, first);
    await h.interact(buttonPayload({ user: 'U0OTTO', channel, messageTs: buttons.ts, actionId: 'interpolate_with', value: first, responseUrl: h.fake.responseUrl() }));
    const menu = await h.fake.waitFor(() => h.fake.callsOf('chat.postEphemeral').find((c) => c.args['channel'] === channel && JSON.stringify(c.args['blocks'] ?? null).includes(second)), 10_000, 'menu');
    expect(menu.args['user']).toBe('U0OTTO');
    const pick = (user: string, to: string) =>
      h.interact({
        ...(buttonPayload({ user, channel, messageTs: buttons.ts, actionId: 'x', value: '', responseUrl: h.fake.responseUrl() }) as Record<string, unknown>),
        actions: [{ type: 'static_select', block_id: `interpolate_from:${first}`, action_id: 'interpolate_pick', selected_option: { text: { type: 'plain_text', text: 'x' }, value: to }, action_ts: `${Date.now() / 1000}` }],
      });
    await pick('U0OTTO', second);
    const result = await upload(channel, 2);
    const direct = await h.engine.interpolate(h.engine.validateInterpolation({ model: 'tiny', sampler: 'ddim', steps: 10, seed_a: 21, seed_b: 22 }));
    expect(result.files[1]!.bytes.equals(direct.gif)).toBe(true);
    // A forged pick of another user's request.
    await pick('U0EVE', second);
    const refusal = await h.fake.waitFor(() => h.fake.callsOf('chat.postEphemeral').find((c) => c.args['user'] === 'U0EVE'), 10_000, 'refusal');
    expect(String(refusal.args['text'])).toMatch(/someone else's/);
  }, 300_000);
});
