/**
 * /slack/events against what an attacker can send without the signing secret's help: a correctly
 * signed request replayed from the future, and a chunked body with no Content-Length that Bolt
 * would otherwise buffer whole before checking the signature. Slack itself stays reachable from any
 * Host name (it authenticates by signature, not by the Host allow-list).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, sendRaw } from '../../../bench/fuzz/raw-http.ts';
import { commandBody, slackSignature } from '../../fakes/slack/slack-requests.ts';
import { SIGNING_SECRET, startHarness, type Harness } from './support/harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ label: 'slackhard' });
});

afterAll(() => h?.close());

/** A raw request signed with the app's secret, with a 5 s answer limit (a hang fails the test). */
function sendSigned(raw: string, type: string, host = `127.0.0.1:${h.handle.port}`) {
  const ts = Math.floor(Date.now() / 1000);
  const headers = [`Host: ${host}`, `Content-Type: ${type}`, `X-Slack-Request-Timestamp: ${ts}`, `X-Slack-Signature: ${slackSignature(SIGNING_SECRET, ts, raw)}`, `Content-Length: ${Buffer.byteLength(raw)}`, 'Connection: close'];
  return sendRaw(h.handle.port!, [rawRequest('POST /slack/events HTTP/1.1', headers, raw)]);
}

const body = () => commandBody({ command: '/generate', text: 'seed:1 steps:2', channel: 'C0HARD', user: 'U0HARD', responseUrl: h.fake.responseUrl() });

describe('/slack/events hardening', () => {
  it('refuses a correctly signed timestamp more than 5 minutes in the future, and starts nothing', async () => {
    const calls = h.fake.calls.length;
    expect((await h.send(body(), { timestamp: Math.floor(Date.now() / 1000) + 6 * 60 })).status).toBe(401);
    expect((await h.send(body(), { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.fake.calls.length).toBe(calls);
    expect(await h.service.listRecentRequests({ platform: 'slack', userId: 'U0HARD', workspaceId: 'T0FAKE' })).toHaveLength(0);
  });

  it('cuts a chunked body without Content-Length at the limit with 413, before Bolt reads it', async () => {
    const port = h.handle.port!;
    const head = rawRequest('POST /slack/events HTTP/1.1', [`Host: 127.0.0.1:${port}`, 'Content-Type: application/x-www-form-urlencoded', 'Transfer-Encoding: chunked']);
    const rssBefore = process.memoryUsage().rss;
    const r = await sendRaw(port, [head], { endless: Buffer.from(`10000\r\n${'x'.repeat(0x10000)}\r\n`), timeoutMs: 10_000 });
    expect(r.status).toBe(413);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    expect((await fetch(`${h.baseUrl}/healthz`)).status).toBe(200);
  });

  it('answers a correctly signed body of the wrong shape with 400 (Bolt threw on it: a 500, or no answer for null)', async () => {
    for (const body of ['null', '{"type":"event_callback","event":true}', '{"type":"event_callback","event":{"item":7}}', '[]']) {
      const r = await sendSigned(body, 'application/json');
      expect(r.status, body).toBe(400);
    }
    expect((await sendSigned('payload=null', 'application/x-www-form-urlencoded')).status).toBe(400);
    expect((await sendSigned('ssl_check=1', 'application/x-www-form-urlencoded')).status).toBe(200);
  });

  it('answers Slack under any Host name', async () => {
    const r = await sendSigned(JSON.stringify({ type: 'url_verification', token: 'x', challenge: 'any-host' }), 'application/json', 'bot.example.com');
    expect(r.status).toBe(200);
    expect(r.body).toContain('any-host');
  });
});
