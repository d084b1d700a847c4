/**
 * Labels and guidance from Slack, end to end through the real Bolt App and the real service: `label:`
 * in the slash command text (quoted when it has spaces), the modal's label select and guidance field,
 * captions and status messages showing them, Reroll keeping them, and a label refused for an
 * unconditional model. The real engine runs the tiny conditional fixture (`tiny-cond`, the default
 * here) beside the unconditional `tiny`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchPng, upscalePng } from '../../../src/render/index.ts';
import { requestIdOf } from '../../fakes/slack/fake-slack-api.ts';
import { buttonPayload, messageShortcutPayload, viewSubmissionPayload } from '../../fakes/slack/slack-requests.ts';
import type { Harness } from './support/harness.ts';
import { startHarness } from './support/harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ label: 'slack_labels', modelsDir: 'test/fixtures/conditional', extraModels: ['test/fixtures/tiny'] });
});
afterAll(async () => {
  await h?.close();
});

async function ephemeralReply(responseId: string): Promise<string> {
  const body = await h.fake.waitFor(() => h.fake.responses.find((r) => r.id === responseId)?.body, 10_000, `response_url ${responseId}`);
  return String((body as { text?: string }).text);
}

describe('/generate label:', () => {
  it('generates the labelled image, shows the label and guidance while it runs and in the caption, and Reroll keeps them', async () => {
    const channel = 'C0LABEL';
    const res = await h.command('/generate', 'label:"Class 1" guidance:3 sampler:ddim steps:6 seed:21', { channel });
    expect(res.body).toBe('');
    const upload = await h.fake.waitFor(() => h.fake.uploadsIn(channel)[0], 30_000, 'upload');
    expect(upload.initialComment).toContain('model `tiny-cond`, label `class 1`, guidance `3`, sampler `ddim`, steps `6`, seed `21`');
    const status = h.fake.messages.find((m) => m.channel === channel && m.initialText.includes('queued'));
    expect(status?.initialText).toContain('`/generate label:"Class 1" guidance:3 sampler:ddim steps:6 seed:21`');
    const id = requestIdOf(upload);
    expect(await h.service.getRequest(id)).toMatchObject({ model: 'tiny-cond', label: 'class 1', guidance: 3, seed: 21 });
    const expected = await h.engine.generate(h.engine.validate({ model: 'tiny-cond', label: 'class 1', guidance: 3, sampler: 'ddim', steps: 6, seed: 21 }));
    expect(upload.files[0]!.bytes.equals(await upscalePng(await batchPng(expected.images)))).toBe(true);

    const buttons = await h.fake.waitFor(() => h.fake.messages.find((m) => m.channel === channel && JSON.stringify(m.blocks ?? null).includes(id)), 5000, 'buttons');
    await h.interact(buttonPayload({ user: 'U0BOB', channel, messageTs: buttons.ts, actionId: 'reroll', value: id, responseUrl: h.fake.responseUrl() }));
    const rerolled = await h.fake.waitFor(() => h.fake.uploadsIn(channel)[1], 30_000, 'reroll upload');
    expect(rerolled.initialComment).toContain('label `class 1`, guidance `3`');
    expect(await h.service.getRequest(requestIdOf(rerolled))).toMatchObject({ label: 'class 1', guidance: 3, derivedFrom: id });
  });

  it('refuses a label for an unconditional model, ephemerally, and starts nothing', async () => {
    const user = 'U0NOLABEL';
    const res = await h.command('/generate', 'model:tiny label:7', { user });
    expect(await ephemeralReply(res.responseId)).toMatch(/Please fix `label`: model tiny is not class-conditional; it takes no label/);
    const unknown = await h.command('/generate', 'label:"class 9"', { user });
    expect(await ephemeralReply(unknown.responseId)).toMatch(/unknown label "class 9"; choose one of: class 0, class 1, class 2/);
    expect(await h.service.listRecentRequests({ platform: 'slack', workspaceId: 'T0FAKE', channelId: 'C0GENERAL', userId: user }, 10)).toHaveLength(0);
  });

  it('help lists the labels of each class-conditional model, with a labelled example', async () => {
    const res = await h.command('/generate', 'help');
    const text = String((JSON.parse(res.body) as { text: string }).text);
    expect(text).toContain('count:<n> label:<class> guidance:<x> <option>:<value>`');
    expect(text).toContain('tiny-cond: class 0, class 1, class 2');
    expect(text).toContain('default tiny-cond 2.5');
    expect(text).toContain('Example: `/generate model:tiny-cond label:"class 2" sampler:ddim steps:50 seed:42`');
  });
});

describe('the modal', () => {
  type Block = { block_id: string; optional?: boolean; element: Record<string, unknown> };
  const metadata = JSON.stringify({ channel: 'C0MODAL', messageTs: '1700000100.000100', threadTs: '1700000100.000100' });
  const select = (value: string) => ({ value: { type: 'static_select', selected_option: { value } } });
  const number = (value: string | null) => ({ value: { type: 'number_input', value } });
  const submit = (id: string, values: { model: string; label: string; guidance: string | null }) =>
    h.interact(
      viewSubmissionPayload({
        user: 'U0ALICE',
        view: { id, callback_id: 'generate_modal', private_metadata: metadata },
        values: { model: select(values.model), sampler: select('ddim'), steps: number('5'), seed: number('3'), label: select(values.label), guidance: number(values.guidance) },
      }),
    );

  it('offers the classes of each conditional model and "none", and an optional guidance of 0..20', async () => {
    await h.interact(messageShortcutPayload({ channel: 'C0MODAL', user: 'U0ALICE', messageTs: '1700000100.000100', text: 'a digit', responseUrl: h.fake.responseUrl() }));
    const open = await h.fake.waitFor(() => h.fake.callsOf('views.open')[0], 5000, 'views.open');
    const blocks = (open.args['view'] as { blocks: Block[] }).blocks;
    const element = (id: string) => blocks.find((b) => b.block_id === id)!.element;
    expect(element('model')['initial_option']).toMatchObject({ value: 'tiny-cond' });
    const groups = element('label')['option_groups'] as { label: { text: string }; options: { value: string; text: { text: string } }[] }[];
    expect(groups.map((g) => g.label.text)).toEqual(['No label', 'tiny-cond']);
    expect(groups[1]!.options.map((o) => [o.value, o.text.text])).toEqual([
      ['tiny-cond:0', 'class 0'],
      ['tiny-cond:1', 'class 1'],
      ['tiny-cond:2', 'class 2'],
    ]);
    expect(element('label')['initial_option']).toMatchObject({ value: 'none' });
    expect(blocks.find((b) => b.block_id === 'guidance')).toMatchObject({ optional: true, element: { type: 'number_input', min_value: '0', max_value: '20' } });
  });

  it('a submitted label and guidance are generated and captioned in the thread', async () => {
    const res = await submit('V0LABEL', { model: 'tiny-cond', label: 'tiny-cond:2', guidance: '1.5' });
    expect(res.body).toBe('');
    const upload = await h.fake.waitFor(() => h.fake.uploadsIn('C0MODAL')[0], 30_000, 'upload');
    expect(upload.threadTs).toBe('1700000100.000100');
    expect(upload.initialComment).toContain('label `class 2`, guidance `1.5`');
    expect(await h.service.getRequest(requestIdOf(upload))).toMatchObject({ label: 'class 2', guidance: 1.5, seed: 3 });
  });

  it('keeps the modal open with the error next to the label or guidance field', async () => {
    const errors = async (id: string, values: { model: string; label: string; guidance: string | null }) => {
      const res = await submit(id, values);
      return (JSON.parse(res.body) as { response_action: string; errors: Record<string, string> }).errors;
    };
    expect((await errors('V0WRONGMODEL', { model: 'tiny', label: 'tiny-cond:1', guidance: null }))['label']).toBe(
      'That label belongs to model tiny-cond: choose tiny-cond as the model, or a label under tiny, or none.',
    );
    expect((await errors('V0NOLABEL', { model: 'tiny-cond', label: 'none', guidance: '2' }))['guidance']).toMatch(/guidance needs a label/);
    expect((await errors('V0TOOMUCH', { model: 'tiny-cond', label: 'tiny-cond:0', guidance: '25' }))['guidance']).toMatch(/guidance: Number must be less than or equal to 20/);
  });
});
