import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlaygroundCatalog } from '../../../src/adapters/web/playground.ts';
import { playgroundRoutes } from '../../../src/adapters/web/playground.ts';
import type { GenerationService, ReplayOverrides } from '../../../src/jobs/service.ts';
import { NotFoundError, RateLimitError } from '../../../src/jobs/types.ts';
import type { Requester, RequestView } from '../../../src/jobs/types.ts';

const ID = '0b9c4d1e-2f3a-4b5c-8d6e-7f8091a2b3c4';
const catalog: PlaygroundCatalog = {
  models: {
    list: () => [
      { name: 'tiny', manifest: { description: 'test', image: { channels: 1, height: 8, width: 8 }, scheduler: { num_train_timesteps: 1000 } } },
      { name: 'short', manifest: { image: { channels: 3, height: 32, width: 32 }, scheduler: { num_train_timesteps: 100 } } },
    ],
  },
  samplers: {
    list: () => [
      { name: 'ddim', description: 'DDIM', stepLimits: (T: number) => ({ min: 1, max: T, default: Math.min(50, T) }) },
      { name: 'ddpm', description: 'DDPM', stepLimits: (T: number) => ({ min: 1, max: T, default: T }) },
    ],
  },
};

const view: RequestView = {
  id: ID,
  kind: 'generate',
  status: 'succeeded',
  requester: { platform: 'web', userId: 'local' },
  model: 'tiny',
  sampler: 'ddim',
  steps: 5,
  eta: 0,
  seed: 42,
  count: 1,
  options: { eta: 0 },
  noiseDemo: null,
  progress: null,
  error: null,
  attempts: 1,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  startedAt: null,
  finishedAt: new Date('2026-01-01T00:00:01Z'),
  timings: { queueMs: 5, samplingMs: 100, totalMs: 120 },
  replyTo: { secret: 'not for the browser' },
  deliveredAt: null,
  derivedFrom: null,
  images: [{ index: 0, contentType: 'image/png', bytes: 100, sha256: 'x' }],
};

const calls: Array<{ fn: string; id?: string; requester: Requester; overrides?: ReplayOverrides; limit?: number }> = [];
let limited = false;
const service: Pick<GenerationService, 'listRecentRequests' | 'reroll' | 'replay'> = {
  async listRecentRequests(requester, limit) {
    calls.push({ fn: 'recent', requester, ...(limit !== undefined ? { limit } : {}) });
    return [view];
  },
  async reroll(id, requester) {
    calls.push({ fn: 'reroll', id, requester });
    if (id !== ID) throw new NotFoundError(`no request ${id}`);
    return { id: 'new', position: 1 };
  },
  async replay(id, requester, _replyTo, overrides) {
    calls.push({ fn: 'replay', id, requester, ...(overrides ? { overrides } : {}) });
    if (limited) throw new RateLimitError(30, 'concurrent', 'you already have 2 requests running');
    return { id: 'replayed', position: 2 };
  },
};

let server: http.Server;
let base = '';
beforeAll(async () => {
  const handle = playgroundRoutes({ catalog, service, requester: () => ({ platform: 'web', userId: 'local' }) });
  server = http.createServer((req, res) => {
    handle(req, res).then(
      (handled) => handled || res.writeHead(404).end(),
      () => res.writeHead(500).end(),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('playground routes', () => {
  it('serves the page and its assets, and nothing else from disk', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<label for="command"');
    expect((await fetch(`${base}/playground`)).status).toBe(200);
    const js = await fetch(`${base}/playground/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${base}/playground/style.css`)).status).toBe(200);
    expect((await fetch(`${base}/playground/..%2F..%2Fplayground.ts`)).status).toBe(404);
    expect((await fetch(`${base}/playground/nope.js`)).status).toBe(404);
    expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(405);
  });

  it('lists models and samplers with step limits for the chosen model', async () => {
    const models = (await (await fetch(`${base}/api/models`)).json()) as { models: Array<{ name: string; image: { width: number } }> };
    expect(models.models.map((m) => m.name)).toEqual(['tiny', 'short']);
    expect(models.models[0]?.image.width).toBe(8);
    const s = (await (await fetch(`${base}/api/samplers`)).json()) as { samplers: Array<{ name: string; steps: { default: number } }> };
    expect(s.samplers).toEqual([
      { name: 'ddim', description: 'DDIM', steps: { min: 1, max: 1000, default: 50 } },
      { name: 'ddpm', description: 'DDPM', steps: { min: 1, max: 1000, default: 1000 } },
    ]);
    const short = (await (await fetch(`${base}/api/samplers?model=short`)).json()) as { samplers: Array<{ steps: { default: number } }> };
    expect(short.samplers[1]?.steps.default).toBe(100);
    const unknown = await fetch(`${base}/api/samplers?model=nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ field: 'model' });
  });

  it('lists the gallery without reply targets, and rejects a bad limit', async () => {
    const res = await fetch(`${base}/api/requests?recent=5`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { requests: Array<Record<string, unknown>> };
    expect(body.requests[0]).toMatchObject({ id: ID, seed: 42, sampler: 'ddim', images: [{ index: 0, url: `/api/requests/${ID}/images/0.png` }] });
    expect(JSON.stringify(body)).not.toContain('not for the browser');
    expect(calls.at(-1)).toMatchObject({ fn: 'recent', limit: 5, requester: { platform: 'web', userId: 'local' } });
    for (const bad of ['0', '101', 'abc', '-1']) expect((await fetch(`${base}/api/requests?recent=${bad}`)).status).toBe(400);
  });

  it('rerolls and replays, mapping service errors to 404, 429 and 400', async () => {
    const reroll = await fetch(`${base}/api/requests/${ID}/reroll`, { method: 'POST' });
    expect(reroll.status).toBe(202);
    expect(await reroll.json()).toEqual({ id: 'new', position: 1 });
    expect((await fetch(`${base}/api/requests/not-a-uuid/reroll`, { method: 'POST' })).status).toBe(404);
    const missing = await fetch(`${base}/api/requests/${ID.replace('0b9c', '1b9c')}/reroll`, { method: 'POST' });
    expect(missing.status).toBe(404);
    const replay = await fetch(`${base}/api/requests/${ID}/replay`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sampler: 'ddpm', steps: 10, eta: 0.5 }) });
    expect(replay.status).toBe(202);
    expect(calls.at(-1)?.overrides).toEqual({ sampler: 'ddpm', steps: 10, options: { eta: 0.5 } });
    const badField = await fetch(`${base}/api/requests/${ID}/replay`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ steps: 'many' }) });
    expect(badField.status).toBe(400);
    expect(await badField.json()).toMatchObject({ field: 'steps' });
    const extra = await fetch(`${base}/api/requests/${ID}/replay`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"seed": 1}' });
    expect(await extra.json()).toMatchObject({ field: 'seed' });
    const notJson = await fetch(`${base}/api/requests/${ID}/replay`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{' });
    expect(notJson.status).toBe(400);
    expect((await fetch(`${base}/api/requests/${ID}/replay`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' })).status).toBe(415);
    expect((await fetch(`${base}/api/requests/${ID}/replay`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: 'x'.repeat(20_000) })).status).toBe(413);
    limited = true;
    const limitedRes = await fetch(`${base}/api/requests/${ID}/replay`, { method: 'POST' });
    expect(limitedRes.status).toBe(429);
    expect(limitedRes.headers.get('retry-after')).toBe('30');
    expect(await limitedRes.json()).toMatchObject({ retryAfterSeconds: 30 });
    limited = false;
    expect((await fetch(`${base}/api/requests/${ID}/reroll`)).status).toBe(405);
  });

  it('leaves other paths to the next handler', async () => {
    expect((await fetch(`${base}/api/generate`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${base}/api/requests/${ID}`)).status).toBe(404);
  });
});
