import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadOpsConfig } from '../../src/ops/config.ts';
import { createLogger, logRequest } from '../../src/ops/logger.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, stream };
}

describe('logger', () => {
  it('writes JSON lines at the configured level with the request id of each HTTP request', async () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info', destination: stream });
    logger.debug({ hidden: true }, 'not at info');
    const server = http.createServer((req, res) => {
      const { log } = logRequest(logger, req, res);
      log.info({ token: 'xoxb-secret' }, 'handling');
      res.end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const given = await fetch(`${base}/api/x?q=1`, { headers: { 'X-Request-Id': 'abc-123' } });
    const fresh = await fetch(`${base}/y`, { headers: { 'X-Request-Id': 'bad id with spaces' } });
    // A gallery fetches dozens of images and the page its static files: those are routine, logged at debug.
    await fetch(`${base}/api/requests/abc/images/0.png`);
    await fetch(`${base}/playground/app.js`);
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    const freshId = fresh.headers.get('x-request-id')!;
    expect(freshId).toMatch(/^[0-9a-f-]{36}$/);
    server.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.some((l) => l['hidden'])).toBe(false);
    const handling = lines.filter((l) => l['msg'] === 'handling');
    expect(handling.map((l) => l['reqId']).slice(0, 2)).toEqual(['abc-123', freshId]);
    expect(handling[0]!['token']).toBe('[redacted]');
    const access = lines.find((l) => l['msg'] === 'request' && l['reqId'] === 'abc-123')!;
    expect(access).toMatchObject({ level: 'info', method: 'GET', path: '/api/x', status: 200, service: 'ddpm-bot' });
    expect(typeof access['time']).toBe('string');
    expect(lines.filter((l) => l['msg'] === 'request').map((l) => l['path'])).toEqual(['/api/x', '/y']);
  });

  it('validates LOG_LEVEL, PLAYGROUND and METRICS from the environment', () => {
    expect(loadOpsConfig({})).toMatchObject({ LOG_LEVEL: 'info', PLAYGROUND: true, METRICS: true });
    expect(loadOpsConfig({ LOG_LEVEL: 'DEBUG', PLAYGROUND: 'off', METRICS: '0' })).toMatchObject({ LOG_LEVEL: 'debug', PLAYGROUND: false, METRICS: false });
    expect(() => loadOpsConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
    expect(() => loadOpsConfig({ PLAYGROUND: 'maybe' })).toThrow(/PLAYGROUND/);
    expect(loadOpsConfig({ LOG_FORMAT: 'JSON' })).toMatchObject({ LOG_FORMAT: 'json' });
    expect(() => loadOpsConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
  });

  it('binds loopback unless HOST says otherwise, and validates ALLOWED_HOSTS, API_TOKEN and REQUEST_TIMEOUT_SECONDS', () => {
    expect(loadOpsConfig({})).toEqual({ LOG_LEVEL: 'info', LOG_FORMAT: 'auto', PLAYGROUND: true, METRICS: true, HOST: '127.0.0.1', REQUEST_TIMEOUT_SECONDS: 60 });
    expect(loadOpsConfig({ HOST: '0.0.0.0', ALLOWED_HOSTS: 'Bot.Example.com, .example.org', API_TOKEN: 'x'.repeat(16), REQUEST_TIMEOUT_SECONDS: '5' })).toMatchObject({
      HOST: '0.0.0.0',
      ALLOWED_HOSTS: ['bot.example.com', '.example.org'],
      API_TOKEN: 'x'.repeat(16),
      REQUEST_TIMEOUT_SECONDS: 5,
    });
    expect(loadOpsConfig({ ALLOWED_HOSTS: '*' }).ALLOWED_HOSTS).toBe('any');
    expect(() => loadOpsConfig({ HOST: 'not a host' })).toThrow(/HOST/);
    expect(() => loadOpsConfig({ ALLOWED_HOSTS: 'ok.example, bad host' })).toThrow(/ALLOWED_HOSTS: "bad host"/);
    expect(() => loadOpsConfig({ ALLOWED_HOSTS: '*, x' })).toThrow(/ALLOWED_HOSTS/);
    expect(() => loadOpsConfig({ API_TOKEN: 'short' })).toThrow(/API_TOKEN: must be at least 16 characters/);
    expect(() => loadOpsConfig({ REQUEST_TIMEOUT_SECONDS: '0' })).toThrow(/REQUEST_TIMEOUT_SECONDS/);
  });
});
