/**
 * The router on real sockets, fed what hostile clients send: malformed Host headers and request
 * targets, bad percent-encoding, chunked bodies without a length, bodies that stall. Each must end
 * in a 4xx answer and the server must keep serving.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, sendRaw } from '../../bench/fuzz/raw-http.ts';
import { HttpServer, readJson, sendJson } from '../../src/server/http.ts';

let server: HttpServer;
let port: number;
let mountCalls = 0;

beforeAll(async () => {
  server = new HttpServer({ log: pino({ level: 'silent' }), requestTimeoutMs: 1000 });
  server.route('GET', '/healthz', (_req, res) => sendJson(res, 200, { ok: true }));
  server.route('GET', '/api/requests/:id', (_req, res, { id }) => sendJson(res, 200, { id }));
  server.route('POST', '/api/echo', async (req, res) => sendJson(res, 200, { got: await readJson(req) }));
  server.mount('/hook', (_req, res) => {
    mountCalls++;
    res.writeHead(204).end();
  }, { maxBodyBytes: 64 * 1024 });
  port = await server.listen(0);
});

afterAll(() => server.close());

const get = (target: string, host = `127.0.0.1:${port}`) => sendRaw(port, [rawRequest(`GET ${target} HTTP/1.1`, [`Host: ${host}`, 'Connection: close'])]);

describe('HttpServer', () => {
  it('answers malformed Host headers and absolute-form targets with 400 and keeps serving', async () => {
    for (const host of ['localhost:99999', 'a b', '[', 'evil.example:70000', 'localhost:0']) {
      const r = await get('/healthz', host);
      expect(r.status, host).toBe(400);
      expect(JSON.parse(r.body)).toMatchObject({ field: 'Host' });
    }
    for (const target of ['http://x:99999/', 'http://127.0.0.1/healthz', '*']) {
      const r = await get(target);
      expect(r.status, target).toBe(400);
      expect(JSON.parse(r.body)).toMatchObject({ field: 'target' });
    }
    expect((await get('//evil.example/healthz')).status).toBe(404);
    expect((await get('/healthz')).status).toBe(200);
  });

  it('answers bad percent-encoding in a route parameter with 400 naming the parameter', async () => {
    for (const id of ['%', '%zz', '%E0%A4%A']) {
      const r = await get(`/api/requests/${id}`);
      expect(r.status, id).toBe(400);
      expect(JSON.parse(r.body)).toMatchObject({ field: 'id', message: expect.stringContaining('percent-encoding') as unknown });
    }
    expect(JSON.parse((await get('/api/requests/a%20b')).body)).toEqual({ id: 'a b' });
  });

  it('counts body bytes on the stream: a chunked body past the limit is 413 before a mount or parser sees it', async () => {
    const head = rawRequest('POST /hook HTTP/1.1', [`Host: 127.0.0.1:${port}`, 'Transfer-Encoding: chunked', 'Content-Type: application/json']);
    const chunk = Buffer.from(`4000\r\n${'x'.repeat(0x4000)}\r\n`);
    const r = await sendRaw(port, [head], { endless: chunk });
    expect(r.status).toBe(413);
    expect(mountCalls).toBe(0);
    const json = rawRequest('POST /api/echo HTTP/1.1', [`Host: 127.0.0.1:${port}`, 'Transfer-Encoding: chunked', 'Content-Type: application/json']);
    expect((await sendRaw(port, [json], { endless: chunk })).status).toBe(413);
    const small = rawRequest('POST /hook HTTP/1.1', [`Host: 127.0.0.1:${port}`, 'Content-Length: 2', 'Connection: close'], '{}');
    expect((await sendRaw(port, [small])).status).toBe(204);
    expect(mountCalls).toBe(1);
  });

  it('refuses JSON that is not UTF-8 and keys JSON.parse keeps but objects drop (__proto__), naming them', async () => {
    const post = (body: Buffer) =>
      sendRaw(port, [rawRequest('POST /api/echo HTTP/1.1', [`Host: 127.0.0.1:${port}`, 'Content-Type: application/json', `Content-Length: ${body.length}`, 'Connection: close'], body)]);
    const latin1 = await post(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]));
    expect([latin1.status, JSON.parse(latin1.body)]).toEqual([400, expect.objectContaining({ field: 'body', message: 'body is not valid UTF-8' })]);
    const proto = await post(Buffer.from('{"options":{"__proto__":{"eta":1}}}'));
    expect([proto.status, JSON.parse(proto.body)]).toEqual([400, expect.objectContaining({ field: 'options.__proto__' })]);
  });

  it('disconnects a client whose body stalls, with 408, within the request timeout', async () => {
    const head = rawRequest('POST /api/echo HTTP/1.1', [`Host: 127.0.0.1:${port}`, 'Content-Type: application/json', 'Content-Length: 30000']);
    const started = Date.now();
    const r = await sendRaw(port, [head, '{"a":'], { timeoutMs: 5000 });
    expect(r.status).toBe(408);
    expect(Date.now() - started).toBeLessThan(3000);
    const slowHeaders = await sendRaw(port, ['GET /healthz HTTP/1.1\r\nHost: x\r\n'], { timeoutMs: 5000 });
    expect(slowHeaders.status).toBe(408);
  });
});
