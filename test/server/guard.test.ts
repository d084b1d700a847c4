/**
 * The request guard on a real HttpServer: which Host names are answered, which cross-site writes
 * are refused, and what API_TOKEN protects.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, sendRaw } from '../../bench/fuzz/raw-http.ts';
import { createGuard, defaultAllowedHosts } from '../../src/server/guard.ts';
import { HttpServer, sendJson } from '../../src/server/http.ts';

const TOKEN = 'a-test-token-0123456789';
let server: HttpServer;
let port: number;

beforeAll(async () => {
  server = new HttpServer({ log: pino({ level: 'silent' }), guard: createGuard({ allowedHosts: defaultAllowedHosts('127.0.0.1'), apiToken: TOKEN }) });
  server.route('GET', '/healthz', (_req, res) => sendJson(res, 200, { ok: true }), { auth: false });
  server.route('GET', '/', (_req, res) => sendJson(res, 200, { page: true }));
  server.route('POST', '/api/generate', (_req, res) => sendJson(res, 202, { ok: true }));
  server.mount('/slack/events', (_req, res) => res.writeHead(200).end('slack'), { maxBodyBytes: 1024, selfAuthenticated: true });
  port = await server.listen(0);
});

afterAll(() => server.close());

function request(method: string, path: string, headers: Record<string, string>, body = ''): Promise<{ status: number | null; body: string }> {
  const lines = Object.entries({ Host: `127.0.0.1:${port}`, Connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}`);
  if (body) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return sendRaw(port, [rawRequest(`${method} ${path} HTTP/1.1`, lines, body)]);
}

const bearer = { Authorization: `Bearer ${TOKEN}` };
const json = { ...bearer, 'Content-Type': 'application/json' };

describe('request guard', () => {
  it('answers localhost names and the bound address only (DNS rebinding), but Slack from any Host', async () => {
    for (const host of ['localhost', `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) expect((await request('GET', '/healthz', { Host: host })).status, host).toBe(200);
    const rebound = await request('GET', '/healthz', { Host: `evil.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ error: 'forbidden_host', field: 'Host' });
    expect((await request('GET', '/nothing-here', { Host: 'evil.example' })).status).toBe(403);
    expect((await request('POST', '/slack/events', { Host: 'bot.example.com', 'Content-Type': 'text/plain' }, 'x')).status).toBe(200);
  });

  it('refuses state-changing requests from a foreign Origin (403) and simple-request bodies (415)', async () => {
    const evil = await request('POST', '/api/generate', { ...json, Origin: 'http://evil.example' }, '{}');
    expect([evil.status, JSON.parse(evil.body).field]).toEqual([403, 'Origin']);
    expect((await request('POST', '/api/generate', { ...json, Origin: 'null' }, '{}')).status).toBe(403);
    expect((await request('POST', '/api/generate', { ...json, Origin: 'http://127.0.0.1:1' }, '{}')).status).toBe(403);
    expect((await request('POST', '/api/generate', { ...json, Origin: `http://127.0.0.1:${port}` }, '{}')).status).toBe(202);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', '']) {
      const simple = await request('POST', '/api/generate', { ...bearer, ...(type ? { 'Content-Type': type } : {}) }, '{"model":"mnist"}');
      expect([simple.status, JSON.parse(simple.body).field], type).toEqual([415, 'Content-Type']);
    }
    expect((await request('POST', '/api/generate', { ...bearer, 'Content-Type': 'multipart/form-data; boundary=x' }, '--x--')).status).toBe(202);
    expect((await request('POST', '/api/generate', bearer)).status).toBe(202);
    expect((await request('POST', '/nowhere', { ...bearer, 'Content-Type': 'text/plain' }, 'x')).status).toBe(404);
  });

  it('needs API_TOKEN as Bearer or Basic password on the API and pages, not on probes', async () => {
    const none = await request('GET', '/', {});
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toMatchObject({ error: 'unauthorized', field: 'Authorization' });
    expect((await request('GET', '/', { Authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
    expect((await request('GET', '/', bearer)).status).toBe(200);
    expect((await request('GET', '/', { Authorization: `Basic ${Buffer.from(`me:${TOKEN}`).toString('base64')}` })).status).toBe(200);
    expect((await request('POST', '/api/generate', { 'Content-Type': 'application/json' }, '{}')).status).toBe(401);
    expect((await request('GET', '/healthz', {})).status).toBe(200);
  });

  it('binds to all interfaces only with every local address in the default allow-list', () => {
    expect(defaultAllowedHosts('127.0.0.1')).toEqual(['localhost', '127.0.0.1', '::1']);
    expect(defaultAllowedHosts('10.1.2.3')).toContain('10.1.2.3');
    expect(defaultAllowedHosts('0.0.0.0')).toEqual(expect.arrayContaining(['localhost', '127.0.0.1']));
  });
});
