/**
 * Vary, /interpolate and Interpolate with… through the real discord.js client: each click or command
 * queues a request that is delivered like /generate's, with the images the engine computes for the
 * stored parameters and seeds (byte-identical), and every refusal is private.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imagePng } from '../../../src/render/index.ts';
import type { FakeMessage } from '../../fakes/discord/server.ts';
import { Harness, customIds, embedField, embedTitle, requestIdOf } from './support/harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await Harness.start({ label: 'edits' });
});

afterAll(async () => {
  await h?.close();
});

function idOf(message: FakeMessage, prefix: string): string {
  const id = customIds(message).find((c) => c.startsWith(prefix));
  if (!id) throw new Error(`no ${prefix} component (has ${customIds(message).join(', ')})`);
  return id;
}

describe('Vary buttons', () => {
  it('one per image (V1..V4); V3 varies image 3 and the delivered image is the engine\'s for the stored noise seed', async () => {
    const user = h.fake.user('vera');
    const grid = await h.result(h.fake.command(user, 'generate', { model: 'tiny', sampler: 'ddim', steps: 10, seed: 11, count: 4 }), 90_000);
    const sourceId = requestIdOf(grid);
    expect(customIds(grid).filter((c) => c.startsWith('ddpm:vary:'))).toEqual([0, 1, 2, 3].map((i) => `ddpm:vary:${sourceId}:${i}`));
    expect(grid.components.length).toBeLessThanOrEqual(5);
    const varied = await h.result(h.fake.click(user, grid, `ddpm:vary:${sourceId}:2`), 90_000);
    expect(embedTitle(varied)).toBe('✨ Variation');
    expect(embedField(varied, 'Strength')).toBe('0.5');
    expect(embedField(varied, 'Varied from')).toBe(`image 3 of \`${sourceId}\``);
    const view = (await h.runtime.service.getRequest(requestIdOf(varied)))!;
    expect(view).toMatchObject({ kind: 'vary', derivedFrom: sourceId, sampler: 'ddim', steps: 10, variation: { strength: 0.5, source: { requestId: sourceId, index: 2 } } });
    const source = await h.engine.sourceImage('tiny', grid.files[3]!.bytes);
    const direct = await h.engine.vary(h.engine.validateVariation({ model: 'tiny', sampler: 'ddim', steps: 10, seed: view.seed, strength: 0.5 }), source);
    expect(Buffer.compare(varied.files[1]!.bytes, await imagePng(direct.images, 0))).toBe(0);
    // A variation can be varied and rerolled again.
    expect(customIds(varied)).toContain(`ddpm:vary:${view.id}:0`);
    expect(customIds(varied).some((c) => c.startsWith('ddpm:reroll:'))).toBe(true);
  }, 200_000);

  it('a single image offers Vary (subtle), Vary and Vary (strong): subtle varies at 0.3, strong at 0.7, each the engine\'s image', async () => {
    const user = h.fake.user('sol');
    const single = await h.result(h.fake.command(user, 'generate', { model: 'tiny', sampler: 'ddim', steps: 10, seed: 12 }));
    const id = requestIdOf(single);
    expect(customIds(single).filter((c) => c.startsWith('ddpm:vary'))).toEqual([`ddpm:vary-subtle:${id}:0`, `ddpm:vary:${id}:0`, `ddpm:vary-strong:${id}:0`]);
    const source = await h.engine.sourceImage('tiny', (await h.runtime.service.getImage(id, 0))!.bytes);
    for (const [preset, strength] of [['subtle', 0.3], ['strong', 0.7]] as const) {
      const varied = await h.result(h.fake.click(user, single, `ddpm:vary-${preset}:${id}:0`), 90_000);
      expect(embedField(varied, 'Strength')).toBe(String(strength));
      const view = (await h.runtime.service.getRequest(requestIdOf(varied)))!;
      expect(view).toMatchObject({ kind: 'vary', variation: { strength, source: { requestId: id, index: 0 } } });
      const direct = await h.engine.vary(h.engine.validateVariation({ model: 'tiny', sampler: 'ddim', steps: 10, seed: view.seed, strength }), source);
      expect(Buffer.compare(varied.files[1]!.bytes, await imagePng(direct.images, 0))).toBe(0);
    }
  }, 200_000);

  it('a stale Vary button of a deleted request is refused privately', async () => {
    const user = h.fake.user('wes');
    const message = await h.result(h.fake.command(user, 'generate', { model: 'tiny', sampler: 'ddim', steps: 5, seed: 3 }));
    const vary = idOf(message, 'ddpm:vary:');
    await h.runtime.service.deleteRequest(requestIdOf(message), { platform: 'discord', workspaceId: h.fake.guildId, userId: user.id });
    expect(await h.ephemeralError(h.fake.click(user, message, vary))).toMatch(/no request/);
  });
});

describe('/interpolate', () => {
  it('delivers the strip and the GIF, byte-identical to the engine for the same seeds', async () => {
    const user = h.fake.user('ivy');
    const result = await h.result(h.fake.command(user, 'interpolate', { model: 'tiny', seed_a: 1, seed_b: 2, frames: 4, steps: 10 }));
    expect(embedTitle(result)).toBe('✨ Interpolation: 4 frames');
    expect(embedField(result, 'Seeds')).toBe('`1` → `2`');
    expect(result.files.map((f) => f.contentType)).toEqual(['image/png', 'image/gif']);
    const direct = await h.engine.interpolate(h.engine.validateInterpolation({ model: 'tiny', sampler: 'ddim', steps: 10, seed_a: 1, seed_b: 2, frames: 4 }));
    expect(Buffer.compare(result.files[1]!.bytes, direct.gif)).toBe(0);
    const id = requestIdOf(result);
    expect(Buffer.compare((await h.runtime.service.getImage(id, 'grid'))!.bytes, direct.stripPng)).toBe(0);
    expect(customIds(result).filter((c) => c.startsWith('ddpm:vary:'))).toHaveLength(4);
  });

  it('refuses privately: frames out of range, a missing seed, a sampler that cannot interpolate', async () => {
    const user = h.fake.user('jon');
    expect(await h.ephemeralError(h.fake.command(user, 'interpolate', { model: 'tiny', frames: 4 }))).toMatch(/seed_a.*seed_b/);
    expect(await h.ephemeralError(h.fake.command(user, 'interpolate', { model: 'tiny', seed_a: 1 }))).toMatch(/seed_b/);
    expect(await h.ephemeralError(h.fake.command(user, 'interpolate', { model: 'tiny', seed_a: 1, seed_b: 2, sampler: 'ddpm' }))).toMatch(/sampler|invert/);
  });
});

describe('Interpolate with…', () => {
  it('offers the clicker\'s own generations privately and morphs from this seed into the picked one', async () => {
    const user = h.fake.user('otto');
    const first = await h.result(h.fake.command(user, 'generate', { model: 'tiny', sampler: 'ddim', steps: 10, seed: 21 }));
    const second = await h.result(h.fake.command(user, 'generate', { model: 'tiny', sampler: 'ddim', steps: 10, seed: 22 }));
    const click = h.fake.click(user, first, idOf(first, 'ddpm:interpolate-with:'));
    const menu = await h.original(click, (m) => m.components.length > 0, 'partner menu');
    expect(menu.flags & 64).toBe(64);
    const pickId = idOf(menu, 'ddpm:interpolate-pick:');
    const result = await h.result(h.fake.select(user, menu, pickId, [requestIdOf(second)]));
    expect(embedField(result, 'Seeds')).toBe('`21` → `22`');
    const direct = await h.engine.interpolate(h.engine.validateInterpolation({ model: 'tiny', sampler: 'ddim', steps: 10, seed_a: 21, seed_b: 22 }));
    expect(Buffer.compare(result.files[1]!.bytes, direct.gif)).toBe(0);
    // The ends are the two results' own images.
    const view = (await h.runtime.service.getRequest(requestIdOf(result)))!;
    expect(Buffer.compare((await h.runtime.service.getImage(view.id, 0))!.bytes, first.files[1]!.bytes)).toBe(0);
    expect(Buffer.compare((await h.runtime.service.getImage(view.id, view.count - 1))!.bytes, second.files[1]!.bytes)).toBe(0);
  });

  it('someone else\'s request, and a user without another generation, are refused privately', async () => {
    const owner = h.fake.user('pia');
    const stranger = h.fake.user('quin');
    const mine = await h.result(h.fake.command(owner, 'generate', { model: 'tiny', sampler: 'ddim', steps: 5, seed: 31 }));
    expect(await h.ephemeralError(h.fake.click(stranger, mine, idOf(mine, 'ddpm:interpolate-with:')))).toMatch(/no other finished/);
    await h.result(h.fake.command(stranger, 'generate', { model: 'tiny', sampler: 'ddim', steps: 5, seed: 33 }));
    const theirs = await h.result(h.fake.command(stranger, 'generate', { model: 'tiny', sampler: 'ddim', steps: 5, seed: 32 }));
    const menu = await h.original(h.fake.click(stranger, theirs, idOf(theirs, 'ddpm:interpolate-with:')), (m) => m.components.length > 0, 'menu');
    // A forged pick of another user's request (the menu lists only the clicker's own).
    const forged = h.fake.select(stranger, menu, idOf(menu, 'ddpm:interpolate-pick:'), [requestIdOf(mine)]);
    expect(await h.ephemeralError(forged)).toMatch(/someone else's/);
  });
});
