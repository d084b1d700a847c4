/**
 * The buttons and menu on a result, clicked through the real discord.js client: reroll, same seed
 * with another sampler/step count, the denoising animation, delete (with its permission rule), and
 * all of them still working after the bot restarted.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchPng } from '../../../src/render/index.ts';
import type { FakeMessage } from '../../fakes/discord/server.ts';
import { MANAGE_MESSAGES } from '../../fakes/discord/server.ts';
import { Harness, customIds, embedField, embedTitle, requestIdOf, selectOptions } from './support/harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await Harness.start({ label: 'buttons' });
});

afterAll(async () => {
  await h?.close();
});

async function generated(userName: string, options: Record<string, string | number>): Promise<{ message: FakeMessage; user: ReturnType<Harness['fake']['user']> }> {
  const user = h.fake.user(userName);
  const message = await h.result(h.fake.command(user, 'generate', { model: 'tiny', ...options }));
  return { message, user };
}

function buttonId(message: FakeMessage, action: string): string {
  const id = customIds(message).find((c) => c.startsWith(`ddpm:${action}:`));
  if (!id) throw new Error(`no ${action} component on the message`);
  return id;
}

describe('result buttons', () => {
  it('Reroll posts a new result with the same parameters and a new seed', async () => {
    const { message, user } = await generated('gina', { sampler: 'ddim', steps: 12, seed: 5 });
    const click = h.fake.click(user, message, buttonId(message, 'reroll'));
    const rerolled = await h.result(click);
    expect(click.callbacks[0]!.type).toBe(5);
    expect(rerolled.id).not.toBe(message.id);
    expect(embedField(rerolled, 'Sampler')).toBe('ddim');
    expect(embedField(rerolled, 'Steps')).toBe('12');
    expect(embedField(rerolled, 'Seed')).not.toBe('`5`');
    const view = await h.runtime.service.getRequest(requestIdOf(rerolled));
    expect(view?.derivedFrom).toBe(requestIdOf(message));
    expect(message.deleted).toBe(false);
  });

  it('the select menu replays the same seed with another sampler and step count', async () => {
    const { message, user } = await generated('hugo', { sampler: 'ddpm', steps: 30, seed: 31337 });
    const values = selectOptions(message).map((o) => o.value);
    expect(values).toContain('ddim:10');
    expect(values).not.toContain('ddpm:30');
    const pick = h.fake.select(user, message, buttonId(message, 'replay'), ['ddim:10']);
    const replayed = await h.result(pick);
    expect(embedField(replayed, 'Seed')).toBe('`31337`');
    expect(embedField(replayed, 'Sampler')).toBe('ddim');
    expect(embedField(replayed, 'Steps')).toBe('10');
    const expected = await h.engine.generate(h.engine.validate({ model: 'tiny', sampler: 'ddim', steps: 10, seed: 31337 }));
    expect(Buffer.compare(replayed.files[1]!.bytes, await batchPng(expected.images))).toBe(0);
  });

  it('Denoising animation answers with a GIF of the predicted x0 over the steps, ending on the same image', async () => {
    const { message, user } = await generated('ines', { sampler: 'ddim', steps: 25, seed: 2024 });
    const click = h.fake.click(user, message, buttonId(message, 'animate'));
    const result = await h.result(click);
    expect(embedTitle(result)).toBe('🎞️ Denoising animation');
    const gif = result.files.find((f) => f.filename === 'denoising.gif')!;
    expect(gif.contentType).toBe('image/gif');
    const meta = await sharp(gif.bytes, { pages: -1 }).metadata();
    expect(meta.format).toBe('gif');
    // The worker records 24 of the 25 steps (the last one's prediction is the final image, which ends
    // the GIF), however fast the job runs; live previews are throttled and would give a few at most.
    expect(meta.pages).toBe(25);
    expect(meta.width).toBe(256);
    // Same seed and parameters: the replay's final image is the original's.
    const replay = await h.runtime.service.getRequest(requestIdOf(result));
    expect(replay?.derivedFrom).toBe(requestIdOf(message));
    const replayImage = await h.runtime.service.getImage(replay!.id, 0);
    expect(Buffer.compare(replayImage!.bytes, message.files[1]!.bytes)).toBe(0);
    expect(String(result.embeds[0]?.['description'])).toContain('25 frames.');
  });

  it('Delete: refused for other members, allowed for the requester and for Manage Messages', async () => {
    const { message, user } = await generated('jack', { sampler: 'ddim', steps: 5, seed: 1 });
    const stranger = h.fake.user('kim');
    const refused = h.fake.click(stranger, message, buttonId(message, 'delete'));
    expect(await h.ephemeralError(refused)).toMatch(/Only the person who asked/);
    expect(message.deleted).toBe(false);

    const moderator = h.fake.user('lee', MANAGE_MESSAGES | (1n << 10n));
    const byModerator = h.fake.click(moderator, message, buttonId(message, 'delete'));
    await h.fake.waitFor(() => message.deleted, 10_000, 'moderator delete');
    expect(byModerator.callbacks[0]!.type).toBe(6);

    const second = await h.result(h.fake.command(user, 'generate', { model: 'tiny', sampler: 'ddim', steps: 5, seed: 2 }));
    h.fake.click(user, second, buttonId(second, 'delete'));
    await h.fake.waitFor(() => second.deleted, 10_000, 'requester delete');
  });

  it('buttons keep working after the bot restarts (state comes from the database, not memory)', async () => {
    const { message, user } = await generated('mia', { sampler: 'ddim', steps: 8, seed: 77 });
    await h.stopBot();
    await h.startBot();
    const pick = h.fake.select(user, message, buttonId(message, 'replay'), ['dpm-solver:20']);
    const replayed = await h.result(pick);
    expect(embedField(replayed, 'Sampler')).toBe('dpm-solver');
    expect(embedField(replayed, 'Seed')).toBe('`77`');
    const reroll = await h.result(h.fake.click(user, message, buttonId(message, 'reroll')));
    expect(embedField(reroll, 'Steps')).toBe('8');
  });
});
