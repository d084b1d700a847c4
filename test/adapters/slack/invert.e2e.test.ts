/**
 * /invert through the real Bolt app and the fake Slack: the last image the user shared in the channel (found
 * with files.list, downloaded from its url_private_download) is inverted to its x_T and decoded back; the upload
 * is the stored pair, the caption carries the PSNR, and Interpolate with… under it morphs the user's image into
 * one of their generations. Refusals are ephemeral and queue nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upscalePng } from '../../../src/render/index.ts';
import { requestIdOf } from '../../fakes/slack/fake-slack-api.ts';
import { buttonPayload } from '../../fakes/slack/slack-requests.ts';
import type { Harness } from './support/harness.ts';
import { startHarness } from './support/harness.ts';
import { grayGradientPng } from '../../fixtures/gradient-png.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ label: 'slack_invert' });
});
afterAll(async () => {
  await h?.close();
});

async function upload(channel: string, n: number) {
  return h.fake.waitFor(() => h.fake.uploadsIn(channel)[n], 90_000, `upload ${n} in ${channel}`);
}

function actionIds(blocks: unknown): string[] {
  return [...JSON.stringify(blocks).matchAll(/"action_id":"([^"]+)"/g)].map((m) => m[1]!);
}

async function ephemeralReply(responseId: string): Promise<string> {
  const reply = await h.fake.waitFor(() => h.fake.responses.find((r) => r.id === responseId)?.body, 10_000, 'ephemeral reply');
  return String(reply.text);
}

describe('/invert', () => {
  it('inverts the image the user shared last; Interpolate with… morphs it into their generation', async () => {
    const channel = 'C0INVERT';
    const png = await grayGradientPng(8);
    h.fake.shareFile({ channel, user: 'U0INES', name: 'digit.png', bytes: png, mimetype: 'image/png' });
    await h.command('/invert', 'model:tiny steps:10', { channel, user: 'U0INES' });
    const result = await upload(channel, 0);
    const id = requestIdOf(result);
    const direct = await h.engine.invert(h.engine.validateInversion({ model: 'tiny', steps: 10 }), await h.engine.sourceImage('tiny', png));
    expect(result.initialComment).toMatch(new RegExp(`^Inversion for <@U0INES> in [\\d.]+ s: .*inversion of an upload · PSNR ${direct.psnr.toFixed(2).replace('.', '\\.')} dB`));
    expect(result.files.map((f) => f.filename)).toEqual(['ddpm-tiny-inversion-10-steps.png']);
    expect(result.files[0]!.bytes.equals(await upscalePng((await h.service.getImage(id, 'grid'))!.bytes))).toBe(true);
    const view = (await h.service.getRequest(id))!;
    expect(view).toMatchObject({ kind: 'invert', status: 'succeeded', steps: 10, inversion: { source: { upload: true }, psnr: direct.psnr } });
    const status = await h.fake.waitFor(() => h.fake.messages.find((m) => m.channel === channel && JSON.stringify(m.blocks ?? null).includes(id)), 10_000, 'buttons');
    expect(status.initialText).toContain('digit.png');
    // No Reroll: an inversion draws nothing at random.
    expect(actionIds(status.blocks)).toEqual(['interpolate_with', 'vary:0']);

    await h.command('/generate', 'model:tiny sampler:ddim steps:10 seed:22', { channel, user: 'U0INES' });
    const generated = requestIdOf(await upload(channel, 1));
    await h.interact(buttonPayload({ user: 'U0INES', channel, messageTs: status.ts, actionId: 'interpolate_with', value: id, responseUrl: h.fake.responseUrl() }));
    const menu = await h.fake.waitFor(() => h.fake.callsOf('chat.postEphemeral').find((c) => c.args['channel'] === channel && JSON.stringify(c.args['blocks'] ?? null).includes(generated)), 10_000, 'menu');
    expect(menu.args['text']).toBe('Morph your inverted image into which of your images?');
    await h.interact({
      ...(buttonPayload({ user: 'U0INES', channel, messageTs: status.ts, actionId: 'x', value: '', responseUrl: h.fake.responseUrl() }) as Record<string, unknown>),
      actions: [{ type: 'static_select', block_id: `interpolate_from:${id}`, action_id: 'interpolate_pick', selected_option: { text: { type: 'plain_text', text: 'x' }, value: generated }, action_ts: `${Date.now() / 1000}` }],
    });
    const morph = (await h.service.getRequest(requestIdOf(await upload(channel, 2))))!;
    expect(morph).toMatchObject({ kind: 'interpolate', derivedFrom: id, interpolation: { from: { requestId: id, index: 0 }, to: { seed: 22 } } });
    // Frame 0 is the inverted image's reconstruction, the last frame the generation's image.
    expect((await h.service.getImage(morph.id, 0))!.bytes.equals((await h.service.getImage(id, 'reconstruction'))!.bytes)).toBe(true);
    expect((await h.service.getImage(morph.id, morph.count - 1))!.bytes.equals((await h.service.getImage(generated, 0))!.bytes)).toBe(true);
  }, 300_000);

  it('refuses ephemerally, queueing nothing: no image shared lately, a sampler that cannot invert', async () => {
    const channel = 'C0INVERT2';
    const none = await h.command('/invert', 'model:tiny', { channel, user: 'U0IRA' });
    expect(await ephemeralReply(none.responseId)).toMatch(/last image you shared in this channel in the past 10 minutes, and I found none/);
    h.fake.shareFile({ channel, user: 'U0IRA', name: 'digit.png', bytes: await grayGradientPng(8), mimetype: 'image/png' });
    const stochastic = await h.command('/invert', 'model:tiny sampler:ddpm', { channel, user: 'U0IRA' });
    expect(await ephemeralReply(stochastic.responseId)).toMatch(/Please fix `sampler`: sampler ddpm cannot invert/);
    expect(await h.service.listRecentRequests({ platform: 'slack', workspaceId: 'T0FAKE', channelId: channel, userId: 'U0IRA' })).toHaveLength(0);
  });
});
