/**
 * End to end through the real engine (the tiny ONNX fixture) and real Postgres: HTTP in, queue,
 * worker, engine, PNGs in the database, HTTP and SSE out. The stored PNG equals what the engine
 * produces for the same seed directly, so the queue path adds nothing and loses nothing.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { PROJECT_ROOT } from '../../src/db/migrate.ts';
import { Engine } from '../../src/engine/index.ts';
import { startService, type ServiceHandle } from '../../src/main.ts';
import { imagePng } from '../../src/render/index.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

let db: TestDatabase;
let engine: Engine;
let app: ServiceHandle;
let base: string;

beforeAll(async () => {
  db = await createTestDatabase('e2e');
  engine = await Engine.load({ modelsDir: join(PROJECT_ROOT, 'test/fixtures'), executionProvider: 'cpu', threads: 1 });
  const config = loadConfig({ DATABASE_URL: db.url, PORT: '0', MIGRATE_ON_START: 'false', LIMIT_PER_HOUR: '6', WORKER_POLL_MS: '100', PROGRESS_MIN_INTERVAL_MS: '0' });
  app = await startService({ config, log: pino({ level: 'silent' }), engine, catalog: engine });
  base = `http://127.0.0.1:${app.port}`;
});

afterAll(async () => {
  await app?.stop();
  await engine?.close();
  await db?.drop();
});

async function json(path: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, init);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

const post = (path: string, body: unknown) => json(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Reads an SSE stream until it ends; returns [event, data] pairs. */
async function readEvents(path: string): Promise<Array<[string, Record<string, unknown>]>> {
  const res = await fetch(`${base}${path}`);
  expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
  const text = await res.text();
  return text
    .split('\n\n')
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      return event && data ? ([event, JSON.parse(data) as Record<string, unknown>] as [string, Record<string, unknown>]) : null;
    })
    .filter((e): e is [string, Record<string, unknown>] => e !== null);
}

describe('HTTP API with the real engine', () => {
  it('generates, streams progress over SSE and serves PNGs identical to a direct engine run', async () => {
    const submitted = await post('/api/generate', { model: 'tiny', sampler: 'ddim', steps: 6, options: { eta: 0 }, seed: 123, count: 2 });
    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({ id: expect.any(String), position: expect.any(Number) });
    const id = submitted.body.id as string;

    const events = await readEvents(`/api/requests/${id}/events`);
    const names = events.map(([e]) => e);
    expect(names.at(-1)).toBe('done');
    expect(names.filter((n) => n === 'done')).toHaveLength(1);
    const progress = events.filter(([e]) => e === 'progress').map(([, d]) => d);
    if (progress.length > 0) expect(progress.at(-1)).toMatchObject({ totalSteps: 6 });

    const status = await json(`/api/requests/${id}`);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ status: 'succeeded', seed: 123, params: { model: 'tiny', sampler: 'ddim', steps: 6, count: 2, seed: 123 }, attempts: 1 });
    expect((status.body.timings as Record<string, number>).totalMs).toBeGreaterThanOrEqual(0);
    const images = status.body.images as Array<{ url: string; sha256: string }>;
    expect(images.map((i) => i.url)).toEqual([`/api/requests/${id}/images/0.png`, `/api/requests/${id}/images/1.png`, `/api/requests/${id}/images/grid.png`]);

    const png = await fetch(`${base}${images[1]!.url}`);
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    const bytes = Buffer.from(await png.arrayBuffer());
    const direct = await engine.generate(engine.validate({ model: 'tiny', sampler: 'ddim', steps: 6, options: { eta: 0 }, seed: 123, count: 2 }));
    expect(bytes.equals(await imagePng(direct.images, 1))).toBe(true);
    expect((await sharp(bytes).metadata()).width).toBe(8);

    // Replay: same seed, same bytes.
    const replay = await post(`/api/requests/${id}/replay`, {});
    expect(replay.status).toBe(202);
    const replayId = replay.body.id as string;
    expect((await readEvents(`/api/requests/${replayId}/events`)).at(-1)?.[0]).toBe('done');
    const again = Buffer.from(await (await fetch(`${base}/api/requests/${replayId}/images/1.png`)).arrayBuffer());
    expect(again.equals(bytes)).toBe(true);
    expect((await fetch(`${base}/api/requests/${replayId}/images/animation.gif`)).status).toBe(404);

    // Replay with its denoising animation: 5 of the 6 steps' predicted x0 (the 6th is the final image), then the image.
    const animated = await post(`/api/requests/${id}/replay`, { recordTrajectory: true });
    expect(animated.status).toBe(202);
    const animatedId = animated.body.id as string;
    expect((await readEvents(`/api/requests/${animatedId}/events`)).at(-1)?.[0]).toBe('done');
    const gif = await fetch(`${base}/api/requests/${animatedId}/images/animation.gif`);
    expect(gif.headers.get('content-type')).toBe('image/gif');
    expect((await sharp(Buffer.from(await gif.arrayBuffer()), { pages: -1 }).metadata()).pages).toBe(6);
    expect((await post(`/api/requests/${id}/replay`, { recordTrajectory: 'yes' })).body).toMatchObject({ field: 'recordTrajectory' });
  });

  it('runs a multipart noise demo with an uploaded image', async () => {
    const upload = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#808080' } }).png().toBuffer();
    const form = new FormData();
    form.set('model', 'tiny');
    form.set('seed', '5');
    form.set('timesteps', '0,500,999');
    form.set('image', new Blob([upload], { type: 'image/png' }), 'in.png');
    const res = await json('/api/noise-demo', { method: 'POST', body: form });
    expect(res.status).toBe(202);
    const id = res.body.id as string;
    expect((await readEvents(`/api/requests/${id}/events`)).at(-1)?.[0]).toBe('done');
    const gif = await fetch(`${base}/api/requests/${id}/images/animation.gif`);
    expect(gif.headers.get('content-type')).toBe('image/gif');
    const status = await json(`/api/requests/${id}`);
    expect(status.body).toMatchObject({ kind: 'noise_demo', params: { timesteps: [0, 500, 999], seed: 5 } });
  });

  it('streams progress with predicted-x0 preview PNGs over SSE', async () => {
    const submitted = await post('/api/generate', { model: 'tiny', sampler: 'ddpm', steps: 300, seed: 9 });
    expect(submitted.status).toBe(202);
    const events = await readEvents(`/api/requests/${submitted.body.id as string}/events`);
    const progress = events.filter(([e]) => e === 'progress').map(([, d]) => d);
    expect(progress.length).toBeGreaterThan(1);
    const steps = progress.map((p) => p.step as number);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    const preview = progress.find((p) => typeof p.preview === 'string')?.preview as string;
    expect(preview).toMatch(/^data:image\/png;base64,/);
    const meta = await sharp(Buffer.from(preview.split(',')[1]!, 'base64')).metadata();
    expect([meta.width, meta.height]).toEqual([8, 8]);
    expect(events.at(-1)?.[0]).toBe('done');
  });

  it('answers 400 naming the field, 404 for unknown requests and 429 with Retry-After past the hourly limit', async () => {
    const bad = await post('/api/generate', { model: 'tiny', sampler: 'ddim', steps: 100000 });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'validation', field: 'steps' });
    const typo = await post('/api/generate', { model: 'tiny', stepz: 3 });
    expect(typo.status).toBe(400);
    expect(typo.body.field).toBe('stepz');
    const notJson = await json('/api/generate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(notJson.body).toMatchObject({ error: 'validation', field: 'body' });
    expect((await json('/api/requests/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await json('/api/requests/not-a-uuid')).status).toBe(404);

    // Five requests so far this hour for this client; the limit is six.
    const sixth = await post('/api/generate', { model: 'tiny', steps: 2, seed: 1 });
    expect(sixth.status).toBe(202);
    const refused = await post('/api/generate', { model: 'tiny', steps: 2, seed: 2 });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.body).toMatchObject({ error: 'rate_limited', reason: 'hourly' });
  });
});
