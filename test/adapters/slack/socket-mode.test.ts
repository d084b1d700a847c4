/** Socket Mode (SLACK_APP_TOKEN): the same listeners over the fake's WebSocket, no public HTTP endpoint. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchPng, upscalePng } from '../../../src/render/index.ts';
import { appMentionEvent, messageShortcutPayload } from '../../fakes/slack/slack-requests.ts';
import type { Harness } from './support/harness.ts';
import { deliveriesSettled, startHarness, until } from './support/harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ label: 'slack_socket', appToken: 'xapp-1-test-app-token' });
});
afterAll(async () => {
  await h?.close();
});

describe('Socket Mode', () => {
  it('connects with the app token and runs /generate over the socket', async () => {
    expect(h.adapter.mode).toBe('socket');
    await h.fake.waitFor(() => h.fake.socketCount === 1, 5000, 'socket connection');
    expect(h.fake.callsOf('apps.connections.open')).toHaveLength(1);
    // Nothing is mounted on the HTTP port in Socket Mode.
    expect((await h.send('x=1')).status).toBe(404);

    h.fake.sendEnvelope({
      envelope_id: 'env-1',
      type: 'slash_commands',
      accepts_response_payload: true,
      payload: {
        token: 'unused',
        team_id: 'T0FAKE',
        channel_id: 'C0SOCKET',
        user_id: 'U0SOCK',
        command: '/generate',
        text: 'sampler:ddim steps:5 seed:2024',
        response_url: h.fake.responseUrl(),
        trigger_id: '1.2.socket',
        api_app_id: 'A0FAKE',
      },
    });
    const ack = await h.fake.waitFor(() => h.fake.socketAcks.find((a) => a.envelope_id === 'env-1'), 3000, 'socket ack');
    expect(ack).toBeDefined();
    const upload = await h.fake.waitFor(() => h.fake.uploads.find((u) => u.channelId === 'C0SOCKET'), 30_000, 'upload');
    const result = await h.engine.generate(h.engine.validate({ model: 'tiny', sampler: 'ddim', steps: 5, seed: 2024 }));
    expect(upload.files[0]!.bytes.equals(await upscalePng(await batchPng(result.images)))).toBe(true);

    // Help is the ack's payload, ephemeral.
    h.fake.sendEnvelope({
      envelope_id: 'env-2',
      type: 'slash_commands',
      accepts_response_payload: true,
      payload: { team_id: 'T0FAKE', channel_id: 'C0SOCKET', user_id: 'U0SOCK', command: '/generate', text: 'help', response_url: h.fake.responseUrl(), trigger_id: '1.3.socket' },
    });
    const help = await h.fake.waitFor(() => h.fake.socketAcks.find((a) => a.envelope_id === 'env-2'), 3000, 'help ack');
    expect(help.payload).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('/generate model:') });
  });

  it('opens the modal for the message shortcut', async () => {
    h.fake.sendEnvelope({
      envelope_id: 'env-3',
      type: 'interactive',
      payload: messageShortcutPayload({ channel: 'C0SOCKET', user: 'U0SOCK', messageTs: '1700000001.000200', text: 'hi', responseUrl: h.fake.responseUrl() }),
    });
    await h.fake.waitFor(() => h.fake.socketAcks.find((a) => a.envelope_id === 'env-3'), 3000, 'shortcut ack');
    const open = await h.fake.waitFor(() => h.fake.callsOf('views.open')[0], 5000, 'views.open');
    expect((open.args['view'] as { callback_id: string }).callback_id).toBe('generate_modal');
  });

  it('an event redelivered with retry_attempt starts one job', async () => {
    const event = appMentionEvent({ channel: 'C0SOCKEV', user: 'U0SOCKEV', text: '<@UBOT> sampler:ddim steps:4 seed:77', ts: '1700000005.000100', eventId: 'Ev0SOCKET1' });
    h.fake.sendEnvelope({ envelope_id: 'env-4', type: 'events_api', payload: event, accepts_response_payload: false });
    h.fake.sendEnvelope({ envelope_id: 'env-5', type: 'events_api', payload: event, accepts_response_payload: false, retry_attempt: 1 });
    await h.fake.waitFor(() => h.fake.uploads.find((u) => u.channelId === 'C0SOCKEV'), 30_000, 'upload');
    expect(h.fake.socketAcks.map((a) => a.envelope_id)).toEqual(expect.arrayContaining(['env-4', 'env-5']));
    // What would reveal a duplicate: the redelivery handled (and refused), then the platform-wide final event and a
    // later sweep settled for the request, instead of a fixed sleep.
    await until(() => h.logs.some((l) => l.msg === 'slack: repeated delivery ignored' && (l.obj as { key?: string }).key === 'event:Ev0SOCKET1'), 'the redelivery');
    const requests = await h.service.listRecentRequests({ platform: 'slack', workspaceId: 'T0FAKE', channelId: 'C0SOCKEV', userId: 'U0SOCKEV' }, 10);
    expect(requests).toHaveLength(1);
    await deliveriesSettled(h.logs, requests[0]!.id, Date.now(), { platformEvent: true });
    expect(h.fake.uploads.filter((u) => u.channelId === 'C0SOCKEV')).toHaveLength(1);
  });

  it('disconnects on stop', async () => {
    await h.adapter.stop();
    await h.fake.waitFor(() => h.fake.socketCount === 0, 5000, 'socket closed');
  });
});
