import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Health } from '../../src/ops/health.ts';
import { opsRoutes } from '../../src/ops/http.ts';
import { Metrics } from '../../src/ops/metrics.ts';

let server: http.Server;
let base = '';
let dbUp = true;

beforeAll(async () => {
  const health = new Health({ timeoutMs: 200 }).register('database', async () => {
    if (!dbUp) throw new Error('database unreachable');
  });
  const metrics = new Metrics({ processMetrics: false });
  metrics.requestFinished('web', 'generate', 'succeeded');
  const handle = opsRoutes({ health, metrics });
  server = http.createServer((req, res) => {
    void handle(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('GET /healthz and /metrics', () => {
  it('healthz is 200 with every check, then 503 naming the failing one', async () => {
    const ok = await fetch(`${base}/healthz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: 'ok', checks: { database: { ok: true } } });
    dbUp = false;
    const bad = await fetch(`${base}/healthz`);
    expect(bad.status).toBe(503);
    expect(await bad.json()).toMatchObject({ status: 'unhealthy', checks: { database: { ok: false, error: 'database unreachable' } } });
    dbUp = true;
  });

  it('metrics is Prometheus text; other paths and methods are not served', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toContain('ddpm_requests_total{platform="web",kind="generate",status="succeeded"} 1');
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${base}/other`)).status).toBe(404);
  });
});

describe('httpObserver', () => {
  it('labels requests by route template and every unmatched one alike, so random paths add no series', async () => {
    const { httpObserver } = await import('../../src/ops/http.ts');
    const { createLogger } = await import('../../src/ops/logger.ts');
    const { instrumentServer } = await import('../../src/ops/instrument.ts');
    const { HttpServer, sendJson } = await import('../../src/server/http.ts');
    const { Writable } = await import('node:stream');
    const metrics = new Metrics({ processMetrics: false });
    const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
    const server = new HttpServer({ log: logger });
    server.route('GET', '/api/requests/:id', (_req, res, { id }) => sendJson(res, id === 'missing' ? 404 : 201, {}));
    instrumentServer(server.server, httpObserver({ logger, metrics }));
    const base = `http://127.0.0.1:${await server.listen(0)}`;
    try {
      const res = await fetch(`${base}/api/requests/0b9c4d1e-2f3a-4b5c-8d6e-7f8091a2b3c4`);
      expect(res.headers.get('x-request-id')).toBeTruthy();
      await fetch(`${base}/api/requests/missing`);
      for (let i = 0; i < 30; i++) await fetch(`${base}/api/requests/${Math.random().toString(36).slice(2)}`, { method: 'PUT' });
      await fetch(`${base}/wp-admin/x.php`);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      await server.close();
    }
    const text = await metrics.render();
    expect(text).toContain('ddpm_http_request_duration_seconds_count{method="GET",route="/api/requests/:id",status="201"} 1');
    expect(text).toContain('ddpm_http_request_duration_seconds_count{method="GET",route="/api/requests/:id",status="404"} 1');
    expect(text).toContain('ddpm_http_request_duration_seconds_count{method="PUT",route="(unmatched)",status="405"} 30');
    expect(text).toContain('ddpm_http_request_duration_seconds_count{method="GET",route="(unmatched)",status="404"} 1');
    expect(text).not.toContain('wp-admin');
    expect(text.match(/^ddpm_http_request_duration_seconds_count/gm)).toHaveLength(4);
  });
});
