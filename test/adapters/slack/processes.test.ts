/**
 * More than one bot process, and restarts: a retried delivery that lands on another process, results
 * finished while no Slack adapter ran, and failures of requests this process did not submit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackAdapter } from '../../../src/adapters/slack/index.ts';
import { startSlackAdapter } from '../../../src/adapters/slack/index.ts';
import type { Json } from '../../../src/jobs/types.ts';
import { commandBody, newTriggerId, sendToApp } from '../../fakes/slack/slack-requests.ts';
import type { Harness, LogLine } from './support/harness.ts';
import pino from 'pino';
import { HttpServer } from '../../../src/server/http.ts';
import { SIGNING_SECRET, TEST_DELIVERY, deliveriesSettled, memoryLogger, slackTestEnv, startHarness } from './support/harness.ts';

let h: Harness;
let other: { adapter: SlackAdapter; host: HttpServer; url: string } | null = null;
const logs: LogLine[] = [];

/** A second bot process: another adapter on the same service and Slack app. */
async function startOther(): Promise<{ adapter: SlackAdapter; host: HttpServer; url: string }> {
  const host = new HttpServer({ log: pino({ level: 'silent' }) });
  const adapter = await startSlackAdapter({ service: h.service, catalog: h.engine, logger: memoryLogger(logs), env: slackTestEnv(h.fake), http: host, delivery: TEST_DELIVERY });
  const port = await host.listen(0, '127.0.0.1');
  return { adapter, host, url: `http://127.0.0.1:${port}/slack/events` };
}

/** Both processes heard the request's final event and have swept since: either would have posted a duplicate by now. */
async function bothSettled(user: string, channel: string): Promise<void> {
  const [request] = await h.service.listRecentRequests({ platform: 'slack', workspaceId: 'T0FAKE', channelId: channel, userId: user }, 1);
  const seen = Date.now();
  await Promise.all([deliveriesSettled(h.logs, request!.id, seen, { platformEvent: true }), deliveriesSettled(logs, request!.id, seen, { platformEvent: true })]);
}

async function stopOther(): Promise<void> {
  await other?.adapter.stop();
  await other?.host.close();
  other = null;
}

beforeAll(async () => {
  h = await startHarness({ label: 'slack_processes' });
});
afterAll(async () => {
  await stopOther();
  await h?.close();
});

function slackReply(channel: string, user: string, key: string): Json {
  return { platform: 'slack', teamId: 'T0FAKE', channel, threadTs: null, userId: user, dedupeKey: key };
}

describe('several bot processes', () => {
  it('a retry delivered to another process is recognised from the stored request and starts nothing', async () => {
    other = await startOther();
    const channel = 'C0TWOPROC';
    const user = 'U0TWO';
    const body = commandBody({ command: '/generate', text: 'sampler:ddim steps:4 seed:8', channel, user, responseUrl: h.fake.responseUrl(), triggerId: newTriggerId() });
    expect((await h.send(body)).status).toBe(200);
    await h.fake.waitFor(() => h.fake.messages.find((m) => m.channel === channel), 10_000, 'status message');
    expect((await sendToApp(other.url, SIGNING_SECRET, body, { retryNum: 1 })).status).toBe(200);
    await h.fake.waitFor(() => h.fake.uploads.find((u) => u.channelId === channel), 30_000, 'upload');
    await bothSettled(user, channel);
    expect(await h.service.listRecentRequests({ platform: 'slack', workspaceId: 'T0FAKE', channelId: channel, userId: user }, 10)).toHaveLength(1);
    expect(h.fake.uploads.filter((u) => u.channelId === channel)).toHaveLength(1);
    expect(logs.some((l) => l.msg === 'slack: repeated delivery ignored')).toBe(true);
    await stopOther();
  });

  it('a retry racing the first delivery in another process still starts one request', async () => {
    other = await startOther();
    const channel = 'C0RACE';
    const user = 'U0RACE';
    const body = commandBody({ command: '/generate', text: 'sampler:ddim steps:4 seed:9', channel, user, responseUrl: h.fake.responseUrl(), triggerId: newTriggerId() });
    const [first, retry] = await Promise.all([h.send(body), sendToApp(other.url, SIGNING_SECRET, body, { retryNum: 1 })]);
    expect([first.status, retry.status]).toEqual([200, 200]);
    await h.fake.waitFor(() => h.fake.uploads.find((u) => u.channelId === channel), 30_000, 'upload');
    await bothSettled(user, channel);
    expect(await h.service.listRecentRequests({ platform: 'slack', workspaceId: 'T0FAKE', channelId: channel, userId: user }, 10)).toHaveLength(1);
    expect(h.fake.uploads.filter((u) => u.channelId === channel)).toHaveLength(1);
    // The losing delivery is dropped silently: no error message to the user.
    expect(h.fake.calls.filter((c) => c.method === 'chat.postEphemeral' && c.args['channel'] === channel)).toEqual([]);
    await stopOther();
  });

  it('a /compare retried to another process while the first is posting its table posts one table and submits each run once', async () => {
    other = await startOther();
    const channel = 'C0COMPRACE';
    const user = 'U0COMP';
    const samplers = h.engine.samplers.list().map((p) => p.name);
    const body = commandBody({ command: '/compare', text: 'model:tiny seed:12 steps:4', channel, user, responseUrl: h.fake.responseUrl(), triggerId: newTriggerId() });
    const [first, retry] = await Promise.all([h.send(body), sendToApp(other.url, SIGNING_SECRET, body, { retryNum: 1 })]);
    expect([first.status, retry.status]).toEqual([200, 200]);
    await h.fake.waitFor(() => h.fake.uploads.filter((u) => u.channelId === channel).length === samplers.length, 240_000, 'every run uploaded');
    expect(h.fake.messages.filter((m) => m.channel === channel && m.threadTs === undefined)).toHaveLength(1);
    const requests = await h.service.listRecentRequests({ platform: 'slack', workspaceId: 'T0FAKE', channelId: channel, userId: user }, 50);
    expect(requests.map((r) => r.sampler).sort()).toEqual([...samplers].sort());
    expect([...h.logs, ...logs].filter((l) => l.msg === 'slack: repeated /compare delivery ignored')).toHaveLength(1);
    await stopOther();
  }, 300_000);

  it('delivers a request another process submitted exactly once while two adapters race for it', async () => {
    const channel = 'C0RESTART';
    const requester = { platform: 'slack' as const, workspaceId: 'T0FAKE', channelId: channel, userId: 'U0LATE' };
    const { id } = await h.service.submitGeneration({ requester, params: { model: 'tiny', sampler: 'ddim', steps: 4, seed: 31 }, replyTo: slackReply(channel, 'U0LATE', 'test:restart') });
    other = await startOther();
    const upload = await h.fake.waitFor(() => h.fake.uploads.find((u) => u.channelId === channel), 30_000, 'upload');
    expect(upload.initialComment).toContain(id);
    // The other process started after the submit and may have missed the final event: its sweeps cover it.
    const seen = Date.now();
    await Promise.all([deliveriesSettled(h.logs, id, seen, { platformEvent: true }), deliveriesSettled(logs, id, seen, { platformEvent: false })]);
    expect(h.fake.uploads.filter((u) => u.channelId === channel)).toHaveLength(1);
    expect((await h.service.getRequest(id))?.deliveredAt).not.toBeNull();
    await stopOther();
  });

  it("posts the failure of a request another process submitted", async () => {
    const channel = 'C0FAILED';
    const requester = { platform: 'slack' as const, workspaceId: 'T0FAKE', channelId: channel, userId: 'U0FAIL' };
    // The service refuses bad uploads at submit, so the failure is made below the engine seam: the
    // worker's engine fails this one job as a broken model would (real noise demos run in other tests).
    const noiseDemo = h.engine.noiseDemo.bind(h.engine);
    h.engine.noiseDemo = () => Promise.reject(new Error('the model produced a non-finite value at timestep 999'));
    try {
      const { id } = await h.service.submitNoiseDemo({ requester, params: { model: 'tiny', seed: 1 }, replyTo: slackReply(channel, 'U0FAIL', 'test:failed') });
      const msg = await h.fake.waitFor(() => h.fake.messages.find((m) => m.channel === channel), 30_000, 'failure message');
      expect(msg.text).toContain(`Request \`${id}\` failed`);
      expect(msg.text).toMatch(/non-finite value/);
    } finally {
      h.engine.noiseDemo = noiseDemo;
    }
  });

  it('after a restart, delivers results that finished while no Slack adapter ran (pendingDeliveries)', async () => {
    await h.adapter.stop();
    const channel = 'C0RESTART2';
    const requester = { platform: 'slack' as const, workspaceId: 'T0FAKE', channelId: channel, userId: 'U0LATE2' };
    const { id } = await h.service.submitGeneration({ requester, params: { model: 'tiny', sampler: 'ddim', steps: 4, seed: 32 }, replyTo: slackReply(channel, 'U0LATE2', 'test:restart2') });
    const deadline = Date.now() + 30_000;
    while ((await h.service.getRequest(id))?.status !== 'succeeded') {
      if (Date.now() > deadline) throw new Error('request did not finish');
      await new Promise((r) => setTimeout(r, 50));
    }
    // Every reply starts with the claim: none while no adapter runs.
    expect((await h.service.getRequest(id))?.deliveredAt).toBeNull();
    expect(h.fake.uploads.filter((u) => u.channelId === channel)).toHaveLength(0);
    const restarted = Date.now();
    other = await startOther();
    const upload = await h.fake.waitFor(() => h.fake.uploads.find((u) => u.channelId === channel), 10_000, 'upload after restart');
    expect(upload.initialComment).toContain(id);
    // A sweep after the restart's own resume would post it a second time if the claim had not held.
    await deliveriesSettled(logs, id, restarted, { platformEvent: false });
    expect(h.fake.uploads.filter((u) => u.channelId === channel)).toHaveLength(1);
  });

  it('fails to start, quickly and saying why, when auth.test fails or the API is unreachable', async () => {
    const start = (env: Record<string, string>) =>
      startSlackAdapter({ service: h.service, catalog: h.engine, logger: memoryLogger([]), env: { ...slackTestEnv(h.fake), ...env }, http: new HttpServer({ log: pino({ level: 'silent' }) }) });
    await expect(start({ SLACK_BOT_TOKEN: 'xoxb-wrong' })).rejects.toThrow(/auth\.test failed.*invalid_auth/);
    const t0 = Date.now();
    // Nothing listens on port 9 of localhost: connection refused, retried twice with a short backoff.
    await expect(start({ SLACK_API_URL: 'http://127.0.0.1:9/api/' })).rejects.toThrow(/auth\.test failed/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await expect(start({ SLACK_SIGNING_SECRET: '', SLACK_APP_TOKEN: '' })).rejects.toThrow(/SLACK_SIGNING_SECRET: required for HTTP mode/);
  });

  it('standalone (no shared server) listens on PORT itself', async () => {
    const adapter = await startSlackAdapter({ service: h.service, catalog: h.engine, logger: memoryLogger([]), env: { ...slackTestEnv(h.fake), PORT: '0' } });
    try {
      expect(adapter.mode).toBe('http');
      expect(adapter.port).toBeGreaterThan(0);
      const res = await sendToApp(`http://127.0.0.1:${adapter.port}/slack/events`, SIGNING_SECRET, commandBody({ command: '/generate', text: 'help', channel: 'C0SOLO', user: 'U0SOLO', responseUrl: h.fake.responseUrl() }));
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body).text).toContain('/generate model:');
      expect((await sendToApp(`http://127.0.0.1:${adapter.port}/slack/events`, 'wrong', 'a=b')).status).toBe(401);
    } finally {
      await adapter.stop();
    }
  });
});
