/**
 * /invert through the real discord.js client and the fake Discord: an uploaded image inverted to its x_T and
 * decoded back (DDIM section 5.4), delivered with its PSNR and the engine's exact reconstruction; its Vary
 * and Interpolate with… start from the uploaded image; refusals are private and queue nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imagePng } from '../../../src/render/index.ts';
import type { FakeMessage, FakeUser } from '../../fakes/discord/server.ts';
import { Harness, customIds, embedField, embedTitle, requestIdOf } from './support/harness.ts';
import { grayGradientPng } from '../../fixtures/gradient-png.ts';

let h: Harness;

beforeAll(async () => {
  h = await Harness.start({ label: 'invert' });
});

afterAll(async () => {
  await h?.close();
});

/** A diagonal gradient, something the untrained fixture does not reconstruct exactly. */
function idOf(message: FakeMessage, prefix: string): string {
  const id = customIds(message).find((c) => c.startsWith(prefix));
  if (!id) throw new Error(`no ${prefix} component (has ${customIds(message).join(', ')})`);
  return id;
}

async function invertUpload(user: FakeUser, png: Buffer, options: Record<string, unknown> = {}): Promise<FakeMessage> {
  const image = h.fake.upload('digit.png', png, 'image/png', { width: 8, height: 8 });
  return h.result(h.fake.command(user, 'invert', { image, model: 'tiny', steps: 10, ...options }), 90_000);
}

describe('/invert', () => {
  it('delivers the source beside its reconstruction with the PSNR the engine measures, and Vary / Interpolate with…', async () => {
    const user = h.fake.user('ines');
    const png = await grayGradientPng(8);
    const result = await invertUpload(user, png);
    const direct = await h.engine.invert(h.engine.validateInversion({ model: 'tiny', steps: 10 }), await h.engine.sourceImage('tiny', png));
    expect(embedTitle(result)).toBe(`✨ Inversion: PSNR ${direct.psnr.toFixed(2)} dB at 10 steps`);
    expect(embedField(result, 'Reconstruction')).toBe(`PSNR ${direct.psnr.toFixed(2)} dB`);
    expect(embedField(result, 'Inverted from')).toBe('an upload');
    expect(embedField(result, 'Steps')).toBe('10');
    const reconstruction = result.files.find((f) => f.filename.endsWith('-reconstruction.png'))!;
    expect(Buffer.compare(reconstruction.bytes, await imagePng(direct.reconstruction))).toBe(0);
    const id = requestIdOf(result);
    // One Vary (under the one source image), Interpolate with…, Delete; no Reroll: nothing in an inversion is random.
    expect(customIds(result)).toEqual([`ddpm:vary:${id}:0`, `ddpm:interpolate-with:${id}`, `ddpm:delete:${id}`]);

    const varied = await h.result(h.fake.click(user, result, `ddpm:vary:${id}:0`), 90_000);
    expect(embedField(varied, 'Varied from')).toBe(`image 1 of \`${id}\``);
    expect((await h.runtime.service.getRequest(requestIdOf(varied)))!.variation!.source).toEqual({ requestId: id, index: 0 });
  }, 240_000);

  it('Interpolate with… morphs the inverted image into one of the user\'s generations: frame 0 is the reconstruction, the last frame that image', async () => {
    const user = h.fake.user('ira');
    const inverted = await invertUpload(user, await grayGradientPng(8));
    const generated = await h.result(h.fake.command(user, 'generate', { model: 'tiny', sampler: 'ddim', steps: 10, seed: 22 }), 90_000);
    const menu = await h.original(h.fake.click(user, inverted, idOf(inverted, 'ddpm:interpolate-with:')), (m) => m.components.length > 0, 'partner menu');
    expect(menu.flags & 64).toBe(64);
    expect(menu.content).toBe('Morph your inverted image into which of your images?');
    const morph = await h.result(h.fake.select(user, menu, idOf(menu, 'ddpm:interpolate-pick:'), [requestIdOf(generated)]), 90_000);
    const invertId = requestIdOf(inverted);
    expect(embedField(morph, 'Ends')).toBe(`inverted \`${invertId}\` image 1 → seed \`22\``);
    const view = (await h.runtime.service.getRequest(requestIdOf(morph)))!;
    expect(view).toMatchObject({ kind: 'interpolate', sampler: 'ddim', steps: 10, derivedFrom: invertId, interpolation: { from: { requestId: invertId, index: 0 }, to: { seed: 22 } } });
    const reconstruction = inverted.files.find((f) => f.filename.endsWith('-reconstruction.png'))!;
    expect(Buffer.compare((await h.runtime.service.getImage(view.id, 0))!.bytes, reconstruction.bytes)).toBe(0);
    expect(Buffer.compare((await h.runtime.service.getImage(view.id, view.count - 1))!.bytes, generated.files[1]!.bytes)).toBe(0);
  }, 300_000);

  it('refuses privately, queueing nothing: an attachment that is not an image, a sampler that cannot invert', async () => {
    const user = h.fake.user('irk');
    const text = h.fake.upload('notes.txt', Buffer.from('hello'), 'text/plain');
    expect(await h.ephemeralError(h.fake.command(user, 'invert', { image: text }))).toMatch(/not an image/);
    const image = h.fake.upload('digit.png', await grayGradientPng(8), 'image/png', { width: 8, height: 8 });
    expect(await h.ephemeralError(h.fake.command(user, 'invert', { image, model: 'tiny', sampler: 'ddpm' }))).toMatch(/`sampler`: sampler ddpm cannot invert/);
    const requests = await h.runtime.service.listRecentRequests({ platform: 'discord', workspaceId: h.fake.guildId, userId: user.id });
    expect(requests).toHaveLength(0);
  });
});
