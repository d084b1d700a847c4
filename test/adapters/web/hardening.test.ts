/**
 * The web API as an attacker on loopback meets it (real service, tiny model, throwaway Postgres):
 * cross-site writes and rebound Host names refused, refused requests leaving nothing in the
 * database, limits checked before uploads are decoded, inputs that used to be dropped silently now
 * refused by name, and API_TOKEN. Each test is its own user (X-Forwarded-For, TRUST_PROXY).
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { footprint } from '../../../bench/fuzz/check-db.ts';
import { rawRequest, sendRaw } from '../../../bench/fuzz/raw-http.ts';
import { startStack, type Stack } from './support/stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('hardening', { env: { TRUST_PROXY: 'true', LIMIT_PER_HOUR: '2' } });
});

afterAll(() => stack?.close());

type Answer = { status: number; body: Record<string, unknown> };

async function call(user: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(`${stack.url}${path}`, { ...init, headers: { 'x-forwarded-for': user, ...(init.headers as Record<string, string>) } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const postJson = (user: string, path: string, body: string, headers: Record<string, string> = {}) =>
  call(user, path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

function form(fields: Array<[string, string]>, image?: Uint8Array): FormData {
  const f = new FormData();
  for (const [k, v] of fields) f.append(k, v);
  if (image) f.append('image', new Blob([image], { type: 'image/png' }), 'in.png');
  return f;
}

async function waitIdle(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await stack.app.runtime.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM requests WHERE status IN ('queued', 'running')");
    if (rows[0]!.n === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('requests did not finish');
}

/** Spends a user's hourly limit (2) on two quick requests. */
async function exhaust(user: string): Promise<void> {
  for (const seed of [1, 2]) expect((await postJson(user, '/api/generate', JSON.stringify({ model: 'tiny', steps: 2, seed }))).status).toBe(202);
  await waitIdle();
}

describe('the web API under attack', () => {
  it('binds loopback by default and refuses a rebound Host name', async () => {
    expect((stack.app.http!.server.address() as { address: string }).address).toBe('127.0.0.1');
    const head = (host: string) => rawRequest('GET /api/models HTTP/1.1', [`Host: ${host}`, 'Connection: close']);
    expect((await sendRaw(stack.app.port!, [head(`evil.example:${stack.app.port}`)])).status).toBe(403);
    expect((await sendRaw(stack.app.port!, [head(`localhost:${stack.app.port}`)])).status).toBe(200);
  });

  it('refuses a cross-site simple request (403) and a text/plain body (415)', async () => {
    const body = '{"model":"tiny","steps":2}';
    const crossSite = await call('csrf', '/api/generate', { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'text/plain' }, body });
    expect(crossSite).toMatchObject({ status: 403, body: { field: 'Origin' } });
    expect(await call('csrf', '/api/generate', { method: 'POST', headers: { 'content-type': 'text/plain' }, body })).toMatchObject({ status: 415, body: { field: 'Content-Type' } });
    expect((await postJson('csrf', '/api/generate', body, { origin: stack.url })).status).toBe(202);
  });

  it('leaves no row or schema object behind for requests refused with 429 or 400', async () => {
    await exhaust('limited');
    const before = await footprint(stack.app.runtime.db.pool);
    for (let steps = 3; steps < 13; steps++) {
      const refused = await postJson('limited', '/api/generate', JSON.stringify({ model: 'tiny', sampler: 'ddim', steps, options: { eta: steps / 20 } }));
      expect(refused).toMatchObject({ status: 429, body: { reason: 'hourly' } });
    }
    expect((await call('limited', '/api/noise-demo', { method: 'POST', body: form([['model', 'tiny']]) })).status).toBe(429);
    expect((await postJson('fresh', '/api/generate', JSON.stringify({ model: 'tiny', sampler: 'ddim', steps: 99999 }))).status).toBe(400);
    const corrupt = await call('fresh', '/api/noise-demo', { method: 'POST', body: form([['model', 'tiny']], new TextEncoder().encode('not a picture')) });
    expect(corrupt).toMatchObject({ status: 400, body: { field: 'image' } });
    expect(await footprint(stack.app.runtime.db.pool)).toEqual(before);
  });

  it('checks limits before decoding an upload: a limited user with a corrupt image gets 429, not a decode', async () => {
    await exhaust('uploader');
    const answer = await call('uploader', '/api/noise-demo', { method: 'POST', body: form([['model', 'tiny']], new TextEncoder().encode('not a picture')) });
    expect(answer).toMatchObject({ status: 429, body: { error: 'rate_limited' } });
  });

  it('refuses inputs it used to drop silently, naming each', async () => {
    const proto = await postJson('inputs', '/api/generate', '{"model":"tiny","options":{"__proto__":{"eta":0.5}}}');
    expect(proto).toMatchObject({ status: 400, body: { field: 'options.__proto__' } });
    // A sampler's option at the top level (the old `eta` shorthand) is refused, pointing to where options go.
    const topLevel = await postJson('inputs', '/api/generate', JSON.stringify({ model: 'tiny', sampler: 'ddim', eta: 0 }));
    expect(topLevel).toMatchObject({ status: 400, body: { field: 'eta', message: 'unknown field "eta"; a sampler\'s own options go in "options" (GET /api/samplers lists them)' } });
    const outOfRange = await postJson('inputs', '/api/generate', JSON.stringify({ model: 'tiny', sampler: 'ddim', options: { eta: 1.5 } }));
    expect(outOfRange).toMatchObject({ status: 400, body: { field: 'options.eta', message: 'option eta must be a number in 0..1 for sampler ddim (got 1.5)' } });
    const notTaken = await postJson('inputs', '/api/generate', JSON.stringify({ model: 'tiny', sampler: 'euler', options: { eta: 0 } }));
    expect(notTaken).toMatchObject({ status: 400, body: { field: 'options.eta', message: 'sampler euler takes no option "eta"; its options: ancestral' } });
    const multipartProto = await call('inputs', '/api/noise-demo', { method: 'POST', body: form([['model', 'tiny'], ['__proto__', '1']]) });
    expect(multipartProto).toMatchObject({ status: 400, body: { field: '__proto__' } });
    const twice = await call('inputs', '/api/noise-demo', { method: 'POST', body: form([['model', 'tiny'], ['seed', '1'], ['seed', '2']]) });
    expect(twice).toMatchObject({ status: 400, body: { field: 'seed' } });
    const empty = await call('inputs', '/api/noise-demo', { method: 'POST', body: form([['model', 'tiny']], new Uint8Array(0)) });
    expect(empty).toMatchObject({ status: 400, body: { field: 'image', message: expect.stringContaining('empty') as unknown } });
  });

  it('does what the README says: model defaults to the first installed, uploads up to 10 MB', async () => {
    const defaulted = await postJson('defaults', '/api/generate', JSON.stringify({ steps: 2, seed: 3 }));
    expect(defaulted.status).toBe(202);
    expect(await call('defaults', `/api/requests/${String(defaulted.body['id'])}`)).toMatchObject({ body: { params: { model: 'tiny' } } });
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).png().toBuffer();
    const nearLimit = new Uint8Array(9.9 * 1024 * 1024);
    nearLimit.set(png);
    const big = await call('defaults', '/api/noise-demo', { method: 'POST', body: form([['model', 'tiny']], nearLimit) });
    expect(big.status).not.toBe(413);
    const over = await call('defaults', '/api/noise-demo', { method: 'POST', body: form([['model', 'tiny']], new Uint8Array(10.2 * 1024 * 1024)) });
    expect(over.status).toBe(413);
  });
});

describe('API_TOKEN', () => {
  it('protects the API and the playground but not /healthz; browsers may send it as the Basic password', async () => {
    const token = 'token-for-tests-0123456789';
    const guarded = await startStack('apitoken', { ops: { API_TOKEN: token } });
    try {
      const page = await fetch(`${guarded.url}/`);
      expect(page.status).toBe(401);
      expect(page.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      const gen = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', steps: 2 }) };
      expect((await fetch(`${guarded.url}/api/generate`, gen)).status).toBe(401);
      expect((await fetch(`${guarded.url}/api/generate`, { ...gen, headers: { ...gen.headers, authorization: `Bearer ${token}` } })).status).toBe(202);
      expect((await fetch(`${guarded.url}/`, { headers: { authorization: `Basic ${Buffer.from(`me:${token}`).toString('base64')}` } })).status).toBe(200);
      expect((await fetch(`${guarded.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${guarded.url}/readyz`)).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });
});
