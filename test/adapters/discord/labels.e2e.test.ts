/**
 * Labels and guidance from Discord, end to end: `label:` autocompleted from the class names of the
 * chosen model (or the default one), a labelled /generate whose stored request and image carry the
 * label and guidance, the result's embed, /history and /info showing them, reroll, the same-seed menu
 * and the animation keeping them, and a label refused for an unconditional model. The real engine
 * runs the tiny conditional fixture (`tiny-cond`, the default here) beside the unconditional `tiny`.
 */
import { optionSpecs } from '../../../src/engine/options.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchPng } from '../../../src/render/index.ts';
import type { FakeMessage } from '../../fakes/discord/server.ts';
import { modelsWithConditionalDefault } from '../../fixtures/conditional-default.ts';
import { Harness, customIds, embedField, embedTitle, requestIdOf } from './support/harness.ts';

let h: Harness;

beforeAll(async () => {
  // tiny is listed first, so a front end that takes the first model instead of the default is caught.
  h = await Harness.start({ label: 'labels', modelsDir: await modelsWithConditionalDefault() });
});

afterAll(async () => {
  await h?.close();
});

function componentOf(message: FakeMessage, action: string): string {
  const id = customIds(message).find((c) => c.startsWith(`ddpm:${action}:`));
  if (!id) throw new Error(`no ${action} component on the message`);
  return id;
}

async function storedLabel(message: FakeMessage): Promise<{ label: string | null; guidance: number | null; seed: number; derivedFrom: string | null }> {
  const view = await h.runtime.service.getRequest(requestIdOf(message));
  if (!view) throw new Error('the request is missing');
  return { label: view.label, guidance: view.guidance, seed: view.seed, derivedFrom: view.derivedFrom };
}

describe('label autocomplete', () => {
  it("suggests the default model's class names until a model is picked, then that model's", async () => {
    const user = h.fake.user('ann');
    expect(h.engine.models.defaultModel()?.name).toBe('tiny-cond');
    const all = h.fake.autocomplete(user, 'generate', { label: '' }, 'label');
    expect(await h.fake.autocompleteChoices(all)).toEqual(['class 0', 'class 1', 'class 2'].map((c) => ({ name: c, value: c })));
    // Answered as an autocomplete result, inside Discord's 3 s, without a message.
    expect(all.callbacks).toHaveLength(1);
    expect(all.callbacks[0]!.at - all.createdAt).toBeLessThan(3_000);
    expect(all.response).toBeNull();

    const typed = h.fake.autocomplete(user, 'generate', { model: 'tiny-cond', label: 'CLASS 2' }, 'label');
    expect(await h.fake.autocompleteChoices(typed)).toEqual([{ name: 'class 2', value: 'class 2' }]);
    const unconditional = h.fake.autocomplete(user, 'generate', { model: 'tiny', label: 'c' }, 'label');
    expect(await h.fake.autocompleteChoices(unconditional)).toEqual([]);
  });
});

describe('/generate with a label', () => {
  it('stores the label and guidance, draws what the engine draws for them, and shows them on the result', async () => {
    const user = h.fake.user('bea');
    const final = await h.result(h.fake.command(user, 'generate', { label: 'class 1', guidance: 3, sampler: 'ddim', steps: 10, seed: 808 }));
    expect(embedTitle(final)).toBe('✨ Done');
    expect(embedField(final, 'Model')).toBe('tiny-cond');
    expect(embedField(final, 'Label')).toBe('class 1');
    expect(embedField(final, 'Guidance')).toBe('3');
    expect(String(final.embeds[0]?.['description'])).toContain('tiny-cond · label class 1 · guidance 3 · ddim · 10 steps · eta 0 · seed 808');
    expect(String((final.embeds[0]?.['footer'] as { text: string }).text)).toContain('label:class 1 guidance:3');
    expect(await storedLabel(final)).toMatchObject({ label: 'class 1', guidance: 3, seed: 808 });
    const expected = await h.engine.generate(h.engine.validate({ model: 'tiny-cond', label: 'class 1', guidance: 3, sampler: 'ddim', steps: 10, seed: 808 }));
    expect(Buffer.compare(final.files[1]!.bytes, await batchPng(expected.images))).toBe(0);
    // The label changes the picture: the same seed without it differs.
    const unlabelled = await h.engine.generate(h.engine.validate({ model: 'tiny-cond', sampler: 'ddim', steps: 10, seed: 808 }));
    expect(Buffer.compare(final.files[1]!.bytes, await batchPng(unlabelled.images))).not.toBe(0);

    // A label alone gets the model's default guidance; a typed prefix resolves to the class name.
    const byDefault = await h.result(h.fake.command(user, 'generate', { label: 'class 2', sampler: 'ddim', steps: 5, seed: 1 }));
    expect(embedField(byDefault, 'Guidance')).toBe('2.5');
    expect(await storedLabel(byDefault)).toMatchObject({ label: 'class 2', guidance: 2.5 });

    const history = await h.original(h.fake.command(user, 'history'), (m) => m.embeds.length > 0, '/history reply');
    expect(String(history.embeds[0]?.['description'])).toContain('label class 1 · guidance 3');

    const info = await h.original(h.fake.command(user, 'info', { request_id: requestIdOf(final) }), (m) => m.embeds.length > 0, '/info reply');
    expect(embedField(info, 'Label')).toBe('class 1');
    expect(embedField(info, 'Guidance')).toBe('3');
  });

  it('refuses a label for an unconditional model, and guidance without a label, privately and before anything runs', async () => {
    const user = h.fake.user('cid');
    const cases: [Record<string, string | number>, RegExp][] = [
      [{ model: 'tiny', label: 'class 1' }, /`label`: model tiny is not class-conditional; it takes no label/],
      [{ label: 'class 9' }, /`label`: unknown label "class 9"; choose one of: class 0, class 1, class 2/],
      [{ guidance: 4 }, /`guidance`: guidance needs a label/],
    ];
    for (const [options, pattern] of cases) {
      const interaction = h.fake.command(user, 'generate', options);
      expect(await h.ephemeralError(interaction)).toMatch(pattern);
      expect(interaction.callbacks[0]!.type).toBe(4);
    }
    expect(await h.runtime.service.listRecentRequests({ platform: 'discord', userId: user.id, workspaceId: h.fake.guildId })).toHaveLength(0);
  });

  it('reroll, the same-seed menu and the animation keep the label and guidance', async () => {
    const user = h.fake.user('dov');
    const original = await h.result(h.fake.command(user, 'generate', { label: 'class 0', guidance: 4, sampler: 'ddim', steps: 6, seed: 17 }));
    const source = requestIdOf(original);

    const rerolled = await h.result(h.fake.click(user, original, componentOf(original, 'reroll')));
    expect(embedField(rerolled, 'Label')).toBe('class 0');
    expect(await storedLabel(rerolled)).toMatchObject({ label: 'class 0', guidance: 4, derivedFrom: source });

    const replayed = await h.result(h.fake.select(user, original, componentOf(original, 'replay'), ['ddpm:10']));
    expect(embedField(replayed, 'Guidance')).toBe('4');
    expect(await storedLabel(replayed)).toMatchObject({ label: 'class 0', guidance: 4, seed: 17 });
    const expected = await h.engine.generate(h.engine.validate({ model: 'tiny-cond', label: 'class 0', guidance: 4, sampler: 'ddpm', steps: 10, seed: 17 }));
    expect(Buffer.compare(replayed.files[1]!.bytes, await batchPng(expected.images))).toBe(0);

    const animation = await h.result(h.fake.click(user, original, componentOf(original, 'animate')));
    expect(embedTitle(animation)).toBe('🎞️ Denoising animation');
    expect(String(animation.embeds[0]?.['description'])).toContain('label class 0 · guidance 4');
    expect(await storedLabel(animation)).toMatchObject({ label: 'class 0', guidance: 4, seed: 17, derivedFrom: source });
  });
});

describe('/info without a request', () => {
  it("lists each model with its labels and default guidance, or says it takes none, and each sampler with its paper", async () => {
    const reply = await h.original(h.fake.command(h.fake.user('eve'), 'info'), (m) => m.embeds.length > 0, '/info reply');
    expect(reply.flags & 64).toBe(64);
    expect(embedField(reply, 'tiny-cond (default)')).toMatch(/^labels: class 0, class 1, class 2 · default guidance 2\.5\n8×8/);
    expect(embedField(reply, 'tiny')).toMatch(/^unconditional \(takes no label\)/);
    const samplers = (embedField(reply, 'Samplers') ?? '').split('\n');
    // Each sampler with its default steps, its declared options (from the plugin) and the paper it implements.
    const optionsOf = (p: Parameters<typeof optionSpecs>[0]) => optionSpecs(p).map((s) => s.name);
    expect(samplers).toEqual(
      h.engine.samplers.list().map((p) => `${p.name} (default ${p.stepLimits(1000).default} steps${optionsOf(p).length > 0 ? `; options ${optionsOf(p).join(', ')}` : ''}) — ${p.description}`),
    );
    expect(samplers.find((line) => line.startsWith('ddim '))).toMatch(/^ddim \(default 50 steps; options eta, use_clipped_model_output\) — /);
    expect(samplers.map((line) => line.split(' ')[0])).toEqual(expect.arrayContaining(['ddpm', 'ddim', 'euler', 'score-sde']));
    for (const line of samplers) expect(line).toMatch(/\([A-Z][a-zA-Z-]+ et al\. 20\d\d/);
  });
});

describe('/noise-demo without a model', () => {
  it("uses the default model (tiny-cond), not the first installed one (tiny)", async () => {
    expect(h.engine.models.list()[0]?.name).toBe('tiny');
    const result = await h.result(h.fake.command(h.fake.user('fay'), 'noise-demo', { seed: 4 }));
    const expected = await h.engine.noiseDemo({ model: 'tiny-cond', seed: 4 });
    expect(Buffer.compare(result.files[0]!.bytes, expected.gridPng)).toBe(0);
  });
});
