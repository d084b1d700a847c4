/**
 * The real service over HTTP (tiny model, throwaway Postgres): /healthz, /metrics after real
 * generations, bad uploads to the noise demo, request ids in the logs, and the PLAYGROUND and
 * METRICS switches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('opshttp');
});

afterAll(() => stack?.close());

async function waitDone(id: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const view = (await (await fetch(`${stack.url}/api/requests/${id}`)).json()) as Record<string, unknown>;
    if (view['status'] === 'succeeded' || view['status'] === 'failed') return view;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`request ${id} did not finish`);
}

function form(fields: Record<string, string>, file?: { name: string; type: string; bytes: Uint8Array }): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  if (file) f.append('image', new Blob([file.bytes], { type: file.type }), file.name);
  return f;
}

describe('the service over HTTP', () => {
  it('GET /healthz checks the database, the queue and the model sessions', async () => {
    const res = await fetch(`${stack.url}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean; details?: unknown }> };
    expect(body.status).toBe('ok');
    expect(body.checks['database']?.ok).toBe(true);
    expect(body.checks['queue']).toMatchObject({ ok: true, details: { queued: 0, running: 0 } });
    expect(body.checks['models']).toMatchObject({ ok: true, details: { models: ['tiny'], providers: { tiny: 'cpu' } } });
  });

  it('GET /metrics counts requests by platform and status, sampling and forward time, images and HTTP', async () => {
    const submitted = (await (
      await fetch(`${stack.url}/api/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', sampler: 'ddim', steps: 5, seed: 1, count: 3 }) })
    ).json()) as { id: string };
    expect((await waitDone(submitted.id))['status']).toBe('succeeded');
    const res = await fetch(`${stack.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('ddpm_requests{platform="web",kind="generate",status="succeeded"} 1');
    expect(text).toContain('ddpm_requests_submitted_total{platform="web",kind="generate"} 1');
    expect(text).toContain('ddpm_requests_total{platform="web",kind="generate",status="succeeded"} 1');
    expect(text).toContain('ddpm_sampling_seconds_count{model="tiny",sampler="ddim"} 1');
    expect(text).toContain('ddpm_onnx_forward_seconds_count{model="tiny"} 1');
    expect(text).toContain('ddpm_images_generated_total{model="tiny"} 3');
    expect(text).toMatch(/ddpm_images_per_second 0\.05\b/);
    expect(text).toContain('ddpm_queue_depth 0');
    expect(text).toMatch(/ddpm_http_request_duration_seconds_count\{method="POST",route="\/api\/generate",status="202"\} 1/);
    expect(text).toContain('ddpm_process_resident_memory_bytes');
  });

  it('refuses bad noise-demo uploads: not an image, too large, bad timesteps, image as text, malformed multipart', async () => {
    const notImage = await fetch(`${stack.url}/api/noise-demo`, {
      method: 'POST',
      body: form({ model: 'tiny', seed: '1' }, { name: 'notes.png', type: 'image/png', bytes: new TextEncoder().encode('this is not a picture') }),
    });
    expect(notImage.status).toBe(400);
    expect(await notImage.json()).toMatchObject({ field: 'image', message: expect.stringMatching(/not an image/) as unknown });
    const huge = await fetch(`${stack.url}/api/noise-demo`, {
      method: 'POST',
      body: form({ model: 'tiny' }, { name: 'big.png', type: 'image/png', bytes: new Uint8Array(11 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
    const badTimesteps = await fetch(`${stack.url}/api/noise-demo`, { method: 'POST', body: form({ model: 'tiny', seed: '1', timesteps: '0,5000' }) });
    expect(badTimesteps.status).toBe(400);
    expect(await badTimesteps.json()).toMatchObject({ field: 'timesteps' });
    const imageAsText = await fetch(`${stack.url}/api/noise-demo`, { method: 'POST', body: form({ model: 'tiny', image: 'hello' }) });
    expect(imageAsText.status).toBe(400);
    const malformed = await fetch(`${stack.url}/api/noise-demo`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: 'garbage' });
    expect(malformed.status).toBe(400);
    expect((await fetch(`${stack.url}/`)).status).toBe(200);
  });

  it('logs JSON lines with a request id on everything logged while handling a request', async () => {
    const res = await fetch(`${stack.url}/api/requests/00000000-0000-4000-8000-000000000000`, { headers: { 'x-request-id': 'trace-me-1' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBe('trace-me-1');
    await new Promise((r) => setTimeout(r, 100));
    const line = stack.logs.find((l) => l['reqId'] === 'trace-me-1' && l['msg'] === 'request');
    expect(line).toMatchObject({ level: 'info', method: 'GET', status: 404, path: '/api/requests/00000000-0000-4000-8000-000000000000', service: 'ddpm-bot' });
  });
});

describe('switches', () => {
  it('PLAYGROUND=off removes the page, METRICS=off removes /metrics; the API and /healthz stay', async () => {
    const off = await startStack('opsoff', { playground: false, metrics: false });
    try {
      expect((await fetch(`${off.url}/`)).status).toBe(404);
      expect((await fetch(`${off.url}/api/models`)).status).toBe(404);
      expect((await fetch(`${off.url}/metrics`)).status).toBe(404);
      expect((await fetch(`${off.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${off.url}/api/requests/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    } finally {
      await off.close();
    }
  });

  it('ROLE=worker serves only /healthz and /metrics, on METRICS_PORT', async () => {
    const worker = await startStack('opsworker', { env: { ROLE: 'worker' }, metricsPort: 0 });
    try {
      expect(worker.app.port).toBeNull();
      const line = worker.logs.find((l) => l['msg'] === 'ops server listening (/healthz, /metrics)');
      const base = `http://127.0.0.1:${String(line?.['port'])}`;
      expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ status: 'ok', checks: { models: { ok: true } } });
      expect(await (await fetch(`${base}/metrics`)).text()).toContain('# TYPE ddpm_onnx_forward_seconds histogram');
      expect((await fetch(`${base}/`)).status).toBe(404);
      expect((await fetch(`${base}/api/generate`, { method: 'POST' })).status).toBe(404);
    } finally {
      await worker.close();
    }
  });
});
