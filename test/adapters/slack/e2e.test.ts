/**
 * End to end through the real Bolt App on the service's shared HTTP server (composed as main.ts does):
 * signed HTTP requests in, a fake Slack Web API out, and the real GenerationService (Postgres, queue,
 * worker) running the real Engine on the tiny fixture model.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageSeed } from '../../../src/adapters/slack/seed.ts';
import { batchPng, upscalePng } from '../../../src/render/index.ts';
import { requestIdOf } from '../../fakes/slack/fake-slack-api.ts';
import { appMentionEvent, buttonPayload, commandBody, messageShortcutPayload, newTriggerId, heldViewSelectPayload, heldViewSubmissionPayload, viewSubmissionPayload } from '../../fakes/slack/slack-requests.ts';
import type { Harness } from './support/harness.ts';
import { deliveriesSettled, startHarness } from './support/harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ label: 'slack_e2e' });
});
afterAll(async () => {
  await h?.close();
});

async function decode(png: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** The PNG the CLI writes for these parameters (it writes batchPng of the engine's output). */
async function cliPng(params: { sampler: string; steps: number; seed: number; options?: Record<string, unknown> }): Promise<Buffer> {
  const result = await h.engine.generate(h.engine.validate({ model: 'tiny', ...params }));
  return batchPng(result.images);
}

describe('message shortcut', () => {
  it('acks, opens a modal seeded from the message, and answers the submission in the thread with progress and the image', async () => {
    const channel = 'C0SHORTCUT';
    const messageTs = '1700000000.000100';
    const t0 = Date.now();
    const res = await h.interact(messageShortcutPayload({ channel, user: 'U0ALICE', messageTs, text: 'a cat', responseUrl: h.fake.responseUrl() }));
    expect(res.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(3000);
    const open = await h.fake.waitFor(() => h.fake.callsOf('views.open')[0], 5000, 'views.open');
    const view = open.args['view'] as { callback_id: string; private_metadata: string; blocks: { block_id: string; element: Record<string, unknown> }[] };
    expect(view.callback_id).toBe('generate_modal');
    const seedBlock = view.blocks.find((b) => b.block_id === 'seed')!;
    const seed = Number(seedBlock.element['initial_value']);
    expect(seed).toBe(messageSeed(channel, messageTs));
    // Prefilled: the first model, ddim and its default steps.
    const initial = (block: string) => view.blocks.find((b) => b.block_id === block)!.element;
    expect(initial('model')['initial_option']).toMatchObject({ value: 'tiny' });
    expect(initial('sampler')['initial_option']).toMatchObject({ value: 'ddim' });
    // Steps left empty means the sampler's default, which the placeholder names.
    expect(initial('steps')['initial_value']).toBeUndefined();
    expect(initial('steps')['placeholder']).toMatchObject({ text: '50 (ddim)' });
    // The same message suggests the same seed again.
    await h.interact(messageShortcutPayload({ channel, user: 'U0BOB', messageTs, text: 'a cat', responseUrl: h.fake.responseUrl() }));
    const second = await h.fake.waitFor(() => h.fake.callsOf('views.open')[1], 5000, 'second views.open');
    const seed2 = (second.args['view'] as typeof view).blocks.find((b) => b.block_id === 'seed')!.element['initial_value'];
    expect(Number(seed2)).toBe(seed);

    const sub = await h.interact(
      viewSubmissionPayload({
        user: 'U0ALICE',
        view: { id: 'V0SUBMIT1', callback_id: view.callback_id, private_metadata: view.private_metadata },
        values: {
          model: { value: { type: 'static_select', selected_option: { value: 'tiny', text: { type: 'plain_text', text: 'tiny' } } } },
          sampler: { value: { type: 'static_select', selected_option: { value: 'ddpm', text: { type: 'plain_text', text: 'ddpm' } } } },
          // The tiny model takes ~0.2 ms a step: enough steps for progress to be visible.
          steps: { value: { type: 'number_input', value: '1000' } },
          seed: { value: { type: 'number_input', value: String(seed) } },
        },
      }),
    );
    expect(sub.status).toBe(200);
    expect(sub.body).toBe('');
    const upload = await h.fake.waitFor(() => h.fake.uploads.find((u) => u.channelId === channel), 30_000, 'upload');
    expect(upload.threadTs).toBe(messageTs);
    const comment = upload.initialComment ?? '';
    expect(comment).toContain('`tiny`');
    expect(comment).toContain('`ddpm`');
    expect(comment).toContain('steps `1000`');
    expect(comment).toContain(`seed \`${seed}\``);
    const id = /request `([0-9a-f-]{36})`/.exec(comment)?.[1];
    expect(id).toBeDefined();

    // The uploaded PNG is the CLI's image for that seed (upscaled by an integer factor for display).
    const expected = await cliPng({ sampler: 'ddpm', steps: 1000, seed });
    const file = upload.files[0]!;
    expect(file.filename).toBe(`ddpm-tiny-${seed}.png`);
    expect(file.bytes.equals(await upscalePng(expected))).toBe(true);
    const got = await decode(file.bytes);
    const want = await decode(expected);
    const factor = got.width / want.width;
    expect(Number.isInteger(factor)).toBe(true);
    for (let y = 0; y < want.height; y++) {
      for (let x = 0; x < want.width; x++) {
        const g = got.data[(y * factor * got.width + x * factor) * got.channels]!;
        expect(g).toBe(want.data[(y * want.width + x) * want.channels]!);
      }
    }

    // Status message in the thread, edited with progress, then into its final state once the result is there.
    const status = h.fake.messages.find((m) => m.channel === channel && m.threadTs === messageTs && m.initialText.includes('queued'))!;
    expect(status).toBeDefined();
    const progress = status.edits.filter((e) => /step \d+\/1000/.test(e));
    expect(progress.length).toBeGreaterThan(0);
    // Throttled: edits of one message are sent at least SLACK_PROGRESS_INTERVAL_MS (20 in tests) apart
    // (measured on arrival, so allow for the event loop's jitter while ONNX runs), far fewer than the 1000 steps.
    const updates = h.fake.callsOf('chat.update').filter((c) => c.args['ts'] === status.ts);
    expect(updates.length).toBeLessThan(200);
    expect(updates.at(-1)!.at - updates[0]!.at).toBeGreaterThanOrEqual((updates.length - 1) * 20 - 60);
    await h.fake.waitFor(() => status.text.includes(' · done'), 5000, 'status finished');
    expect(status.text).toBe(`<@U0ALICE> generating from a message · done: uploaded \`ddpm-tiny-${seed}.png\``);
    expect(status.deleted).toBe(false);
    // The finished status message carries the buttons; nothing else is posted in the thread.
    expect(JSON.stringify(status.blocks)).toContain(id!);
    expect(JSON.stringify(status.blocks)).toContain('reroll');
    expect(JSON.stringify(status.blocks)).toContain('animation');
    expect(h.fake.messages.filter((m) => m.channel === channel)).toEqual([status]);
  });

  it('shows invalid modal fields next to the field and keeps the modal open', async () => {
    // The generate modal submitted with tiny and ddim and the typed steps and seed.
    const submit = (viewId: string, steps: string, seed: string) =>
      h.interact(
        viewSubmissionPayload({
          user: 'U0ALICE',
          view: { id: viewId, callback_id: 'generate_modal', private_metadata: JSON.stringify({ channel: 'C1', messageTs: '1.2', threadTs: '1.2' }) },
          values: {
            model: { value: { type: 'static_select', selected_option: { value: 'tiny' } } },
            sampler: { value: { type: 'static_select', selected_option: { value: 'ddim' } } },
            steps: { value: { type: 'number_input', value: steps } },
            seed: { value: { type: 'number_input', value: seed } },
          },
        }),
      );
    const res = await submit('V0BAD', '100000', '1');
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as { response_action: string; errors: Record<string, string> };
    expect(body.response_action).toBe('errors');
    expect(body.errors['steps']).toMatch(/steps must be/);
    // The modal only reads numbers; ranges and whole numbers are the service's one validation, named by field.
    const seed = await submit('V0BADSEED', '', '4294967296');
    const expected = (() => {
      try {
        h.service.checkGeneration({ model: 'tiny', sampler: 'ddim', seed: 4294967296 });
      } catch (error) {
        return (error as Error).message;
      }
      return 'no error';
    })();
    expect(expected).toMatch(/^seed: /);
    expect(JSON.parse(seed.body)).toEqual({ response_action: 'errors', errors: { seed: expected } });
  });

  it("shows the chosen sampler's own option fields (views.update when the sampler changes), keeps what was typed, and generates with them", async () => {
    type Block = { block_id: string; dispatch_action?: boolean; optional?: boolean; element: Record<string, unknown> };
    const opened = await h.interact(messageShortcutPayload({ channel: 'C0OPTIONS', user: 'U0OPT', messageTs: '1700000000.000300', text: 'x', responseUrl: h.fake.responseUrl() }));
    expect(opened.status).toBe(200);
    const first = await h.fake.waitFor(() => h.fake.callsOf('views.open').find((c) => String((c.args['view'] as { private_metadata: string }).private_metadata).includes('000300')), 5000, 'views.open');
    const blocks = (first.args['view'] as { blocks: Block[] }).blocks;
    // ddim is preselected: its declared options are the fields, and the sampler select dispatches its changes.
    expect(blocks.find((b) => b.block_id === 'sampler')?.dispatch_action).toBe(true);
    expect(blocks.filter((b) => b.block_id.startsWith('option:')).map((b) => b.block_id)).toEqual(['option:eta', 'option:use_clipped_model_output']);
    expect(blocks.find((b) => b.block_id === 'option:eta')).toMatchObject({ optional: true, element: { type: 'number_input', is_decimal_allowed: true, min_value: '0', max_value: '1' } });

    // The user types a seed and steps, then picks another sampler: the fake keeps state as Slack does.
    const viewId = h.fake.views.find((v) => String(v.view.private_metadata).includes('000300'))?.id;
    h.fake.views.type(viewId!, 'seed', '77');
    h.fake.views.type(viewId!, 'steps', '4');
    const stale = h.fake.views.snapshot(h.fake.views.get(viewId!)) as { hash: string };
    const picked = await h.interact(heldViewSelectPayload({ user: 'U0OPT', views: h.fake.views, viewId: viewId!, blockId: 'sampler', value: 'score-sde' }));
    expect(picked.status).toBe(200);
    const update = await h.fake.waitFor(() => h.fake.callsOf('views.update').find((c) => c.args['view_id'] === viewId), 5000, 'views.update');
    expect(update.args['hash']).toBe(stale.hash);
    const updated = (update.args['view'] as { blocks: Block[] }).blocks;
    // The same blocks under the same ids (so Slack keeps their values), and score-sde's option fields.
    expect(updated.filter((b) => !b.block_id.startsWith('option:')).map((b) => b.block_id)).toEqual(blocks.filter((b) => !b.block_id.startsWith('option:')).map((b) => b.block_id));
    expect(updated.filter((b) => b.block_id.startsWith('option:')).map((b) => b.block_id)).toEqual(['option:predictor', 'option:corrector_steps', 'option:snr', 'option:probability_flow']);
    expect(updated.find((b) => b.block_id === 'option:corrector_steps')?.element).toMatchObject({ type: 'number_input', is_decimal_allowed: false, min_value: '0', max_value: '10' });
    expect(updated.find((b) => b.block_id === 'option:predictor')?.element).toMatchObject({ type: 'static_select', initial_option: { value: 'reverse_diffusion' } });
    expect(updated.find((b) => b.block_id === 'steps')?.element['placeholder']).toMatchObject({ text: '1000 (score-sde)' });
    const state = () => (h.fake.views.snapshot(h.fake.views.get(viewId!)) as { state: { values: Record<string, { value: Record<string, unknown> }> } }).state.values;
    await h.fake.waitFor(() => state()['option:predictor'], 5000, 'the updated view');
    // What the user typed survived the update; the new option fields start at their declared defaults.
    expect(state()['seed']!.value).toMatchObject({ value: '77' });
    expect(state()['steps']!.value).toMatchObject({ value: '4' });
    expect(state()['sampler']!.value).toMatchObject({ selected_option: { value: 'score-sde' } });
    expect(state()['option:predictor']!.value).toMatchObject({ selected_option: { value: 'reverse_diffusion' } });
    expect(state()['option:eta']).toBeUndefined();

    // The same pick sent again with the hash from before that update (a race) is refused by Slack (hash_conflict).
    const racing = heldViewSelectPayload({ user: 'U0OPT', views: h.fake.views, viewId: viewId!, blockId: 'sampler', value: 'score-sde' }) as { view: { hash: string } };
    const current = (h.fake.views.snapshot(h.fake.views.get(viewId!)) as { hash: string }).hash;
    racing.view.hash = stale.hash;
    await h.interact(racing);
    await h.fake.waitFor(() => h.fake.callsOf('views.update').filter((c) => c.args['view_id'] === viewId).length === 2, 5000, 'second views.update');
    expect((h.fake.views.snapshot(h.fake.views.get(viewId!)) as { hash: string }).hash).toBe(current);

    // A bad value is shown next to its option, naming what it accepts; the modal stays open.
    h.fake.views.type(viewId!, 'option:snr', '0');
    const bad = await h.interact(heldViewSubmissionPayload({ user: 'U0OPT', views: h.fake.views, viewId: viewId! }));
    expect(JSON.parse(bad.body)).toEqual({ response_action: 'errors', errors: { 'option:snr': 'option snr must be a number > 0 and <= 1 for sampler score-sde (got 0)' } });

    h.fake.views.type(viewId!, 'option:snr', '');
    h.fake.views.type(viewId!, 'option:corrector_steps', '2');
    h.fake.views.pick(viewId!, 'option:probability_flow', 'true');
    const good = await h.interact(heldViewSubmissionPayload({ user: 'U0OPT', views: h.fake.views, viewId: viewId! }));
    expect(good.body).toBe('');
    const upload = await h.fake.waitFor(() => h.fake.uploadsIn('C0OPTIONS')[0], 30_000, 'upload');
    expect(upload.initialComment).toContain('corrector_steps `2`');
    expect(upload.initialComment).toContain('probability_flow `true`');
    const options = { corrector_steps: 2, probability_flow: true };
    expect(upload.files[0]!.bytes.equals(await upscalePng(await cliPng({ sampler: 'score-sde', steps: 4, seed: 77, options })))).toBe(true);
  });
});

async function ephemeralReply(responseId: string): Promise<{ response_type?: string; text?: string }> {
  return h.fake.waitFor(() => h.fake.responses.find((r) => r.id === responseId)?.body, 10_000, `response_url ${responseId}`);
}

async function latestRequest(user: string, channel: string): Promise<string> {
  const [latest] = await h.service.listRecentRequests({ platform: 'slack', workspaceId: 'T0FAKE', channelId: channel, userId: user }, 1);
  if (!latest) throw new Error(`no request of ${user} in ${channel}`);
  return latest.id;
}

async function requestsOf(user: string, channel: string): Promise<number> {
  return (await h.service.listRecentRequests({ platform: 'slack', workspaceId: 'T0FAKE', channelId: channel, userId: user }, 100)).length;
}

describe('/generate', () => {
  it('explains the syntax on /generate help, ephemerally', async () => {
    const res = await h.command('/generate', 'help');
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as { response_type: string; text: string };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toContain('/generate model:<name> sampler:<name> steps:<n> seed:<n> count:<n> <option>:<value>');
    // Each sampler's own options, from the plugins' declarations.
    expect(body.text).toContain('• eta (a number in 0..1, default 0): ');
    expect(body.text).toMatch(/• ancestral \(true or false, default false\): .* — sampler euler/);
    expect(body.text).toContain('tiny');
    expect(body.text).toContain('ddim');
    expect(body.text).toContain('/noise-demo');
  });

  it('answers bad options with an ephemeral message that says what to fix, and starts nothing', async () => {
    const user = 'U0TYPO';
    const syntax = await h.command('/generate', 'steps:many', { user });
    expect(JSON.parse(syntax.body)).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('steps must be a whole number') });
    const unknown = await h.command('/generate', 'colour:blue', { user });
    expect(JSON.parse(unknown.body).text).toContain('Unknown option "colour"');
    // Range checks that depend on the sampler come from the service (ValidationError naming the field).
    const range = await h.command('/generate', 'sampler:ddim steps:5000', { user });
    expect(range.body).toBe('');
    const reply = await ephemeralReply(range.responseId);
    expect(reply.response_type).toBe('ephemeral');
    expect(reply.text).toMatch(/Please fix `steps`: .*steps must be/);
    const model = await h.command('/generate', 'model:nope', { user });
    expect((await ephemeralReply(model.responseId)).text).toMatch(/unknown model "nope"; installed: tiny/);
    expect(await requestsOf(user, 'C0GENERAL')).toBe(0);
    expect(h.fake.messages.filter((m) => m.initialText.includes(`<@${user}>`))).toHaveLength(0);
  });

  it('generates with the given options and uploads the CLI-identical image to the channel, with buttons', async () => {
    const channel = 'C0COMMAND';
    const res = await h.command('/generate', 'model:tiny sampler:ddim steps:8 seed:42 eta:0', { channel });
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    const upload = await h.fake.waitFor(() => h.fake.uploadsIn(channel)[0], 30_000, 'upload');
    expect(upload.threadTs).toBeUndefined();
    expect(upload.initialComment).toContain('seed `42`');
    expect(upload.initialComment).toContain('eta `0`');
    expect(upload.files[0]!.bytes.equals(await upscalePng(await cliPng({ sampler: 'ddim', steps: 8, seed: 42, options: { eta: 0 } })))).toBe(true);
    // And literally what the CLI writes for that seed.
    const dir = mkdtempSync(join(tmpdir(), 'slack-cli-'));
    const out = join(dir, 'x.png');
    const cli = spawnSync(process.execPath, ['bin/ddpm-bot.js', 'generate', '--models-dir', 'test/fixtures', '--model', 'tiny', '--sampler', 'ddim', '--steps', '8', '--option', 'eta=0', '--seed', '42', '--out', out], { encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    expect(upload.files[0]!.bytes.equals(await upscalePng(readFileSync(out)))).toBe(true);
    rmSync(dir, { recursive: true, force: true });
    const id = requestIdOf(upload);
    const buttons = await h.fake.waitFor(() => h.fake.messages.find((m) => m.channel === channel && JSON.stringify(m.blocks ?? null).includes(id)), 5000, 'buttons');
    expect(buttons.threadTs).toBeUndefined();
  });

  it('uploads the labelled grid for count > 1', async () => {
    const channel = 'C0GRID';
    await h.command('/generate', 'sampler:ddim steps:4 seed:7 count:3', { channel });
    const upload = await h.fake.waitFor(() => h.fake.uploadsIn(channel)[0], 30_000, 'upload');
    expect(upload.initialComment).toContain('count `3`');
    const result = await h.engine.generate(h.engine.validate({ model: 'tiny', sampler: 'ddim', steps: 4, seed: 7, count: 3 }));
    expect(upload.files[0]!.bytes.equals(await upscalePng(await batchPng(result.images)))).toBe(true);
  });
});

describe('buttons under a result', () => {
  it('Reroll submits the same parameters with a new seed; Animation replays the request as a denoising GIF', async () => {
    const channel = 'C0BUTTONS';
    // 1000 steps of ~0.2 ms on the tiny model: far too fast for live previews, yet the animation has 59 of them.
    await h.command('/generate', 'sampler:ddpm steps:1000 seed:99', { channel });
    const first = await h.fake.waitFor(() => h.fake.uploadsIn(channel)[0], 30_000, 'first upload');
    const id = requestIdOf(first);
    const buttons = await h.fake.waitFor(() => h.fake.messages.find((m) => m.channel === channel && JSON.stringify(m.blocks ?? null).includes(id)), 5000, 'buttons');

    const reroll = await h.interact(buttonPayload({ user: 'U0BOB', channel, messageTs: buttons.ts, actionId: 'reroll', value: id, responseUrl: h.fake.responseUrl() }));
    expect(reroll.status).toBe(200);
    const second = await h.fake.waitFor(() => h.fake.uploadsIn(channel)[1], 30_000, 'reroll upload');
    expect(second.initialComment).toContain('<@U0BOB>');
    expect(second.initialComment).toContain('sampler `ddpm`, steps `1000`');
    expect(second.initialComment).not.toContain('seed `99`');
    const rerolled = await h.service.getRequest(requestIdOf(second));
    expect(rerolled?.requester.userId).toBe('U0BOB');
    expect(rerolled?.derivedFrom).toBe(id);

    await h.interact(buttonPayload({ user: 'U0BOB', channel, messageTs: buttons.ts, actionId: 'animation', value: id, responseUrl: h.fake.responseUrl() }));
    const third = await h.fake.waitFor(() => h.fake.uploadsIn(channel)[2], 30_000, 'animation upload');
    expect(third.initialComment).toContain(`Denoising animation of \`${id}\``);
    expect(third.files.map((f) => f.filename)).toEqual(['ddpm-tiny-99-denoising.gif']);
    const gif = third.files[0]!.bytes;
    expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    const meta = await sharp(gif, { pages: -1 }).metadata();
    expect(meta.pages).toBe(60);
    expect(third.initialComment).toContain('60 frames of the predicted x₀');
    expect(meta.width).toBe(256);
    // The replay follows the same trajectory: its image is byte-identical to the original's.
    const replay = requestIdOf(third);
    expect((await h.service.getRequest(replay))?.seed).toBe(99);
    expect((await h.service.getImage(replay, 0))!.bytes.equals((await h.service.getImage(id, 0))!.bytes)).toBe(true);
    // The last frame is the final image (up to the GIF encoder's palette and dithering).
    const last = await sharp(gif, { page: meta.pages! - 1 }).removeAlpha().toColourspace('b-w').raw().toBuffer();
    const final = await sharp(await upscalePng((await h.service.getImage(id, 0))!.bytes)).toColourspace('b-w').raw().toBuffer();
    expect(last.length).toBe(final.length);
    let diff = 0;
    for (let i = 0; i < final.length; i++) diff += Math.abs(last[i]! - final[i]!);
    // Observed 0..2.1 (palette quantization varies with the frames); a wrong or blank frame is far off.
    expect(diff / final.length).toBeLessThan(8);
  });

  it('tells the clicker ephemerally when the request is unknown', async () => {
    await h.interact(buttonPayload({ user: 'U0BOB', channel: 'C0GONE', messageTs: '1.1', actionId: 'reroll', value: '00000000-0000-0000-0000-000000000000', responseUrl: h.fake.responseUrl() }));
    const eph = await h.fake.waitFor(() => h.fake.callsOf('chat.postEphemeral').find((c) => c.args['channel'] === 'C0GONE'), 5000, 'ephemeral');
    expect(eph.args['user']).toBe('U0BOB');
    expect(String(eph.args['text'])).toContain('no longer exists');
    await h.interact(buttonPayload({ user: 'U0BOB', channel: 'C0GONE2', messageTs: '1.1', actionId: 'animation', value: 'not-a-uuid', responseUrl: h.fake.responseUrl() }));
    await h.fake.waitFor(() => h.fake.callsOf('chat.postEphemeral').find((c) => c.args['channel'] === 'C0GONE2'), 5000, 'ephemeral for a bad id');
  });
});

async function pngOf(width: number, height: number, fill: number): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (fill + i) % 256;
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

describe('/noise-demo', () => {
  it("uses the user's most recent image in the channel from the last 10 minutes", async () => {
    const channel = 'C0NOISE';
    const now = Math.floor(Date.now() / 1000);
    h.fake.shareFile({ channel, user: 'U0CAROL', name: 'old.png', bytes: await pngOf(16, 16, 0), mimetype: 'image/png', created: now - 3600 });
    h.fake.shareFile({ channel, user: 'U0DAVE', name: 'someone-else.png', bytes: await pngOf(16, 16, 50), mimetype: 'image/png', created: now - 5 });
    h.fake.shareFile({ channel, user: 'U0CAROL', name: 'older.png', bytes: await pngOf(16, 16, 90), mimetype: 'image/png', created: now - 300 });
    h.fake.shareFile({ channel, user: 'U0CAROL', name: 'cat.png', bytes: await pngOf(12, 20, 130), mimetype: 'image/png', created: now - 60 });
    const res = await h.command('/noise-demo', 'seed:5 timesteps:0,500,999', { channel, user: 'U0CAROL' });
    expect(res.status).toBe(200);
    const upload = await h.fake.waitFor(() => h.fake.uploadsIn(channel)[0], 30_000, 'upload');
    expect(upload.initialComment).toContain('timesteps `0,500,999`');
    expect(upload.files).toHaveLength(2);
    const list = h.fake.callsOf('files.list').at(-1)!;
    expect(list.args).toMatchObject({ channel, user: 'U0CAROL', types: 'images' });
    expect(Number(list.args['ts_from'])).toBeGreaterThanOrEqual(now - 601);
    const status = h.fake.messages.find((m) => m.channel === channel)!;
    expect(status.initialText).toContain('cat.png');
    // The grid is the engine's forward process of that image.
    const id = requestIdOf(upload);
    const view = await h.service.getRequest(id);
    expect(view?.kind).toBe('noise_demo');
    const expected = await h.engine.noiseDemo({ model: 'tiny', seed: 5, timesteps: [0, 500, 999], image: await pngOf(12, 20, 130) });
    expect(upload.files[0]!.bytes.equals(expected.gridPng)).toBe(true);
  });

  it('falls back to a generated image when the user shared none recently', async () => {
    const channel = 'C0NOISE2';
    h.fake.shareFile({ channel, user: 'U0ERIN', name: 'stale.png', bytes: await pngOf(16, 16, 0), mimetype: 'image/png', created: Math.floor(Date.now() / 1000) - 11 * 60 });
    await h.command('/noise-demo', 'seed:11', { channel, user: 'U0ERIN' });
    const upload = await h.fake.waitFor(() => h.fake.uploadsIn(channel)[0], 30_000, 'upload');
    expect(h.fake.messages.find((m) => m.channel === channel)!.initialText).toContain('a generated image');
    const expected = await h.engine.noiseDemo({ model: 'tiny', seed: 11 });
    expect(upload.files[0]!.bytes.equals(expected.gridPng)).toBe(true);
  });

  it('uses a generated image when files.list is refused (app installed without files:read)', async () => {
    const channel = 'C0NOSCOPE';
    h.fake.shareFile({ channel, user: 'U0GINA', name: 'mine.png', bytes: await pngOf(16, 16, 3), mimetype: 'image/png' });
    h.fake.failNext.set('files.list', 'missing_scope');
    await h.command('/noise-demo', 'seed:13', { channel, user: 'U0GINA' });
    const upload = await h.fake.waitFor(() => h.fake.uploadsIn(channel)[0], 30_000, 'upload');
    expect(h.fake.messages.find((m) => m.channel === channel)!.initialText).toContain('a generated image');
    expect(upload.files[0]!.bytes.equals((await h.engine.noiseDemo({ model: 'tiny', seed: 13 })).gridPng)).toBe(true);
  });

  it('refuses a file that is not an image with an ephemeral message, and starts nothing', async () => {
    const channel = 'C0BADFILE';
    h.fake.shareFile({ channel, user: 'U0FRANK', name: 'notes.png', bytes: Buffer.from('definitely not a png'), mimetype: 'image/png' });
    const res = await h.command('/noise-demo', '', { channel, user: 'U0FRANK' });
    const reply = await ephemeralReply(res.responseId);
    expect(reply.response_type).toBe('ephemeral');
    expect(reply.text).toContain('I could not use your image');
    expect(await requestsOf('U0FRANK', channel)).toBe(0);
  });

  it('with denoise_from, also uploads the reconstruction from x_t', async () => {
    const channel = 'C0RECON';
    await h.command('/noise-demo', 'seed:21 timesteps:0,300 denoise_from:300', { channel, user: 'U0HANK' });
    const upload = await h.fake.waitFor(() => h.fake.uploadsIn(channel)[0], 30_000, 'upload');
    expect(upload.initialComment).toContain('denoise_from `300`');
    expect(upload.files.map((f) => f.filename)).toEqual(['ddpm-tiny-21-noise.png', 'ddpm-tiny-21-noise.gif', 'ddpm-tiny-21-reconstruction.png']);
    const expected = await h.engine.noiseDemo({ model: 'tiny', seed: 21, timesteps: [0, 300], denoiseFrom: 300 });
    expect(upload.files[2]!.bytes.equals(await upscalePng(expected.reconstructionPng!))).toBe(true);
  });

  it('answers bad timesteps ephemerally', async () => {
    const res = await h.command('/noise-demo', 'timesteps:0,abc');
    expect(JSON.parse(res.body)).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('timesteps must be comma-separated') });
    // Ranges that depend on the model come from the service.
    const range = await h.command('/noise-demo', 'timesteps:0,5000', { user: 'U0IVAN' });
    expect((await ephemeralReply(range.responseId)).text).toMatch(/Please fix `timesteps`: timesteps must be integers in 0\.\.999/);
    const from = await h.command('/noise-demo', 'denoise_from:1000', { user: 'U0IVAN' });
    expect((await ephemeralReply(from.responseId)).text).toMatch(/Please fix `denoise_from`: denoise_from must be an integer in 1\.\.999/);
    expect(await requestsOf('U0IVAN', 'C0GENERAL')).toBe(0);
  });
});

describe('request verification', () => {
  it('answers Slack\'s URL verification challenge', async () => {
    const res = await h.send(JSON.stringify({ type: 'url_verification', token: 'x', challenge: 'challenge-123' }), { json: true });
    expect(res.status).toBe(200);
    expect(res.body).toContain('challenge-123');
  });

  it('answers forged, stale and unsigned requests with 401 and starts nothing', async () => {
    const before = { calls: h.fake.calls.length, requests: await requestsOf('U0MALLORY', 'C0SEC') };
    const body = commandBody({ command: '/generate', text: 'seed:1', channel: 'C0SEC', user: 'U0MALLORY', responseUrl: h.fake.responseUrl() });
    expect((await h.send(body, { signWith: 'not-the-secret' })).status).toBe(401);
    expect((await h.send(body, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 })).status).toBe(401);
    expect((await h.send(body, { unsigned: true })).status).toBe(401);
    // A correct signature over a different body (tampered in transit).
    const tampered = await fetch(h.eventsUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)), 'x-slack-signature': 'v0=' + '0'.repeat(64) },
      body,
    });
    expect(tampered.status).toBe(401);
    // The same command signed correctly, sent after them: once its status message is posted, any of the
    // refused ones that had reached a listener would have posted one too (or stored a request).
    const signed = await h.send(commandBody({ command: '/generate', text: 'seed:1 steps:2', channel: 'C0SEC', user: 'U0MALLORY', responseUrl: h.fake.responseUrl() }));
    expect(signed.status).toBe(200);
    await h.fake.waitFor(() => h.fake.messages.find((m) => m.channel === 'C0SEC'), 10_000, 'the signed command\'s status message');
    expect(h.fake.calls.slice(before.calls).filter((c) => c.method === 'chat.postMessage' && c.args['channel'] === 'C0SEC')).toHaveLength(1);
    expect(await requestsOf('U0MALLORY', 'C0SEC')).toBe(before.requests + 1);
    // Oversized bodies are refused before Bolt buffers them.
    const huge = await h.send(`${body}&pad=${'x'.repeat(1024 * 1024)}`);
    expect(huge.status).toBe(413);
    // The same port still serves the other routes.
    expect((await fetch(`${h.baseUrl}/healthz`)).status).toBe(200);
  });
});

describe('Slack retries', () => {
  it('a mention event redelivered by Slack (X-Slack-Retry-Num 1 and 2) starts one job, answered in its thread', async () => {
    const channel = 'C0MENTION';
    const user = 'U0MENTION';
    const body = JSON.stringify(appMentionEvent({ channel, user, text: '<@UBOT> sampler:ddim steps:4 seed:12', ts: '1700000003.000100' }));
    expect((await h.send(body, { json: true })).status).toBe(200);
    const [r1, r2] = await Promise.all([h.send(body, { json: true, retryNum: 1 }), h.send(body, { json: true, retryNum: 2 })]);
    expect([r1.status, r2.status]).toEqual([200, 200]);
    const upload = await h.fake.waitFor(() => h.fake.uploadsIn(channel)[0], 30_000, 'upload');
    expect(upload.threadTs).toBe('1700000003.000100');
    expect(upload.initialComment).toContain('seed `12`');
    await deliveriesSettled(h.logs, await latestRequest(user, channel), Date.now(), { platformEvent: true });
    expect(h.fake.uploadsIn(channel)).toHaveLength(1);
    expect(await requestsOf(user, channel)).toBe(1);
  });

  it('a retried delivery (X-Slack-Retry-Num) starts one job', async () => {
    const channel = 'C0RETRY';
    const user = 'U0RETRY';
    const body = commandBody({ command: '/generate', text: 'sampler:ddim steps:4 seed:3', channel, user, responseUrl: h.fake.responseUrl(), triggerId: newTriggerId() });
    const [a, b] = await Promise.all([h.send(body), h.send(body, { retryNum: 1 })]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect((await h.send(body, { retryNum: 2 })).status).toBe(200);
    await h.fake.waitFor(() => h.fake.uploadsIn(channel)[0], 30_000, 'upload');
    await deliveriesSettled(h.logs, await latestRequest(user, channel), Date.now(), { platformEvent: true });
    expect(h.fake.uploadsIn(channel)).toHaveLength(1);
    expect(await requestsOf(user, channel)).toBe(1);
    expect(h.fake.messages.filter((m) => m.channel === channel && m.initialText.includes('queued'))).toHaveLength(1);
  });
});

describe('delivery problems', () => {
  it('cancels and explains ephemerally when the bot is not in the channel', async () => {
    const channel = 'C0PRIVATE';
    const user = 'U0PRIV';
    h.fake.closedChannels.add(channel);
    const res = await h.command('/generate', 'sampler:ddim steps:4 seed:1', { channel, user });
    const reply = await ephemeralReply(res.responseId);
    expect(reply.response_type).toBe('ephemeral');
    expect(reply.text).toContain('not_in_channel');
    expect(reply.text).toContain('/invite @ddpm-bot');
    const [request] = await h.service.listRecentRequests({ platform: 'slack', workspaceId: 'T0FAKE', channelId: channel, userId: user }, 5);
    expect(reply.text).toContain(request!.id);
    // Its cancellation is a final event too: wait until the safety net has handled it and a sweep has run.
    await deliveriesSettled(h.logs, request!.id, Date.now(), { platformEvent: true });
    expect(h.fake.uploadsIn(channel)).toHaveLength(0);
  });

  it('says so in the thread when the upload fails', async () => {
    const channel = 'C0UPLOADFAIL';
    h.fake.failNext.set('files.completeUploadExternal', 'internal_error');
    await h.command('/generate', 'sampler:ddim steps:4 seed:17', { channel });
    const msg = await h.fake.waitFor(() => h.fake.messages.find((m) => m.channel === channel && m.text.includes('could not upload')), 30_000, 'failure note');
    expect(msg.text).toContain('internal_error');
    expect(msg.text).toContain('seed `17`');
  });
});

describe('limits', () => {
  it('a rate-limited modal submission is answered ephemerally in the message thread', async () => {
    const channel = 'C0MODALLIMIT';
    const user = 'U0MODAL';
    // Two long requests keep the user at LIMIT_CONCURRENT_PER_USER (2).
    await Promise.all([1, 2].map((seed) => h.command('/generate', `sampler:ddpm steps:1000 seed:${seed}`, { channel, user })));
    // The commands are acknowledged before they are submitted: wait until both are in.
    const deadline = Date.now() + 10_000;
    while ((await requestsOf(user, channel)) < 2) {
      if (Date.now() > deadline) throw new Error('the two requests were not submitted');
      await new Promise((r) => setTimeout(r, 10));
    }
    const res = await h.interact(
      viewSubmissionPayload({
        user,
        view: { id: 'V0LIMITED', callback_id: 'generate_modal', private_metadata: JSON.stringify({ channel, messageTs: '1700000009.000100', threadTs: '1700000009.000100' }) },
        values: {
          model: { value: { type: 'static_select', selected_option: { value: 'tiny' } } },
          sampler: { value: { type: 'static_select', selected_option: { value: 'ddim' } } },
          steps: { value: { type: 'number_input', value: '4' } },
          seed: { value: { type: 'number_input', value: '5' } },
        },
      }),
    );
    expect(res.status).toBe(200);
    const eph = await h.fake.waitFor(() => h.fake.callsOf('chat.postEphemeral').find((c) => c.args['channel'] === channel), 10_000, 'ephemeral');
    expect(eph.args).toMatchObject({ user, thread_ts: '1700000009.000100' });
    expect(String(eph.args['text'])).toMatch(/Try again in/);
    await h.fake.waitFor(() => h.fake.uploadsIn(channel).length === 2 || undefined, 30_000, 'the two long ones');
    expect(await requestsOf(user, channel)).toBe(2);
  });

  it('answers a rate-limited request ephemerally with when to retry', async () => {
    const channel = 'C0LIMIT';
    const user = 'U0BUSY';
    // LIMIT_CONCURRENT_PER_USER is 2: the third of three long requests submitted at once is refused.
    const results = await Promise.all([1, 2, 3].map((seed) => h.command('/generate', `sampler:ddpm steps:1000 seed:${seed}`, { channel, user })));
    const replies = await h.fake.waitFor(() => {
      const got = results.map((r) => h.fake.responses.find((x) => x.id === r.responseId)).filter(Boolean);
      return got.length >= 1 ? got : undefined;
    }, 10_000, 'rate limit reply');
    expect(replies).toHaveLength(1);
    expect(replies[0]!.body['response_type']).toBe('ephemeral');
    expect(String(replies[0]!.body['text'])).toMatch(/Try again in \d+ (s|min|h)/);
    expect(await requestsOf(user, channel)).toBe(2);
    await h.fake.waitFor(() => h.fake.uploadsIn(channel).length === 2 || undefined, 30_000, 'two uploads');
  });
});
