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
  it('labels routes without ids and observes each request once it closes', async () => {
    const { routeLabel, httpObserver } = await import('../../src/ops/http.ts');
    const { createLogger } = await import('../../src/ops/logger.ts');
    const { Writable } = await import('node:stream');
    expect(routeLabel('/api/requests/0b9c4d1e-2f3a-4b5c-8d6e-7f8091a2b3c4/images/3.png')).toBe('/api/requests/:id/images/:n.png');
    expect(routeLabel('/api/requests/0b9c4d1e-2f3a-4b5c-8d6e-7f8091a2b3c4/images/grid.png')).toBe('/api/requests/:id/images/:n.png');
    expect(routeLabel('/api/requests/0b9c4d1e-2f3a-4b5c-8d6e-7f8091a2b3c4/events')).toBe('/api/requests/:id/events');
    const metrics = new Metrics({ processMetrics: false });
    const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
    const observe = httpObserver({ logger, metrics });
    let status = 201;
    const s = http.createServer((req, res) => {
      observe(req, res);
      res.writeHead(status).end();
    });
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
    const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/api/requests/0b9c4d1e-2f3a-4b5c-8d6e-7f8091a2b3c4`);
    status = 404;
    await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/wp-admin/x.php`);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    await new Promise((r) => setTimeout(r, 50));
    s.close();
    const text = await metrics.render();
    expect(text).toContain('ddpm_http_request_duration_seconds_count{method="GET",route="/api/requests/:id",status="201"} 1');
    expect(text).toContain('ddpm_http_request_duration_seconds_count{method="GET",route="(not found)",status="404"} 1');
    expect(text).not.toContain('wp-admin');
  });
});
