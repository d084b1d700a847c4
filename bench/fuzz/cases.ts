/**
 * Malformed requests for every route, generated from a seed so a failing case can be replayed:
 * random and mistyped JSON, broken syntax and invalid UTF-8, wrong content types, broken multipart,
 * hostile images, hostile headers (malformed Host, absolute-form targets, conflicting lengths),
 * bad percent-encoding and unknown paths and methods, and unsigned, forged or replayed Slack events.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { HostileImage } from './images.ts';
import { rawRequest } from './raw-http.ts';

export interface FuzzTarget {
  readonly port: number;
  readonly models: readonly string[];
  readonly samplers: readonly string[];
  readonly images: readonly HostileImage[];
  /** Finished requests the edit routes (vary, invert, interpolate's from) can start from; unset: random ids only. */
  readonly requestIds?: readonly string[];
  /** The Slack signing secret, to send correctly signed junk too; unset: no Slack route. */
  readonly slackSecret?: string;
}

export interface FuzzCase {
  readonly category: string;
  readonly bytes: Buffer;
}

export class Rng {
  constructor(private state: number) {}
  /** mulberry32 */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

const KEYS = [
  'model', 'sampler', 'steps', 'eta', 'seed', 'count', 'options', 'label', 'guidance', 'timesteps', 'denoiseFrom', 'newSeed', 'recordTrajectory',
  // Variations, interpolations and inversions.
  'strength', 'index', 'seed_a', 'seed_b', 'label_a', 'label_b', 'frames', 'from',
  '__proto__', 'constructor', 'junk',
];
const NUMBERS = [0, -1, 1, 2, 1.5, -0.0001, 1e308, -1e308, 2 ** 53 + 1, 4294967296, 1e-320, 999999999999, 50, 1000];
const STRINGS = ['', '\u0000', '😀', '<script>alert(1)</script>', '../../etc/passwd', '%00', 'NaN', '1e999', 'x'.repeat(5000)];
const PARAMS = ['%', '%zz', '%E0%A4%A', '..%2f..%2fetc%2fpasswd', '%00', '.', '..', 'x'.repeat(2000), '%F0%9F%98%80', 'grid.png', '0.png', 'animation.gif'];
const TEMPLATES = ['/api/requests/:id', '/api/requests/:id/images/:n', '/api/requests/:id/events', '/api/requests/:id/replay', '/api/requests/:id/delete', '/api/requests/:id/vary', '/api/requests/:id/invert', '/api/requests/:id/interpolate-with', '/playground/:file'];
const PATHS = ['/', '/playground', '/api/models', '/api/samplers', '/api/generate', '/api/noise-demo', '/api/invert', '/api/interpolate', '/api/requests', '/healthz', '/readyz', '/metrics', '/slack/events', '/nope', '/api', '//api/generate'];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE'];

function value(r: Rng, t: FuzzTarget, depth = 0): unknown {
  switch (r.int(depth > 2 ? 4 : 7)) {
    case 0:
      return r.pick(NUMBERS) * (r.int(2) ? 1 : -1);
    case 1:
      return r.pick([...STRINGS, ...t.models, ...t.samplers]);
    case 2:
      return r.pick([null, true, false]);
    case 3:
      return r.int(1000);
    case 4:
      return Array.from({ length: r.int(5) }, () => value(r, t, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: r.int(4) }, () => [r.pick(KEYS), value(r, t, depth + 1)]));
  }
}

export function caseMaker(t: FuzzTarget) {
  const host = `127.0.0.1:${t.port}`;
  const request = (method: string, path: string, headers: readonly string[] = [], body?: Buffer | string) => {
    const b = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    return rawRequest(`${method} ${path} HTTP/1.1`, [`Host: ${host}`, 'Connection: close', ...headers, ...(b ? [`Content-Length: ${b.length}`] : [])], b ?? '');
  };
  const json = (path: string, body: string | Buffer, type = 'application/json') => request('POST', path, [`Content-Type: ${type}`], body);
  // Edits of a request that exists (`t.requestIds`, made by the harness) reach the service's checks, not only the 404.
  const someRequest = (r: Rng) => (t.requestIds?.length && r.int(3) ? r.pick(t.requestIds) : randomUUID());
  const bodyPath = (r: Rng) =>
    r.pick(['/api/generate', '/api/noise-demo', '/api/interpolate', '/api/interpolate', `/api/requests/${randomUUID()}/replay`, `/api/requests/${someRequest(r)}/vary`, `/api/requests/${someRequest(r)}/invert`, `/api/requests/${someRequest(r)}/interpolate-with`]);
  const base = (r: Rng) => ({ model: r.pick(t.models), sampler: r.pick(t.samplers), steps: 1 + r.int(60), seed: r.int(1000), count: 1 });

  const multipart = (r: Rng, parts: Array<{ name: string; value: Buffer | string; file?: string; type?: string }>, mutate: boolean) => {
    const boundary = `fuzz${r.int(1e9)}`;
    const chunks = parts.map((p) => {
      const disposition = `Content-Disposition: form-data; name="${p.name}"${p.file === undefined ? '' : `; filename="${p.file}"`}`;
      return Buffer.concat([Buffer.from(`--${boundary}\r\n${disposition}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`), Buffer.from(p.value), Buffer.from('\r\n')]);
    });
    let body = Buffer.concat([...chunks, Buffer.from(`--${boundary}--\r\n`)]);
    let type = `multipart/form-data; boundary=${boundary}`;
    if (mutate) {
      const m = r.int(5);
      if (m === 0) body = body.subarray(0, r.int(body.length));
      else if (m === 1) type = 'multipart/form-data';
      else if (m === 2) type = 'multipart/form-data; boundary=other';
      else if (m === 3) body = Buffer.from(body.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
      else body = Buffer.concat([body, Buffer.from('trailing junk')]);
    }
    // Both image uploads parse the same form (image-form.ts) but validate different fields.
    return request('POST', r.pick(['/api/noise-demo', '/api/invert']), [`Content-Type: ${type}`], body);
  };

  const signed = (body: string, ts: number, secret = t.slackSecret!) => [
    'Content-Type: application/x-www-form-urlencoded',
    `X-Slack-Request-Timestamp: ${ts}`,
    `X-Slack-Signature: v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`,
  ];

  const makers: Record<string, (r: Rng) => Buffer> = {
    json: (r) => {
      const body: Record<string, unknown> = r.int(4) === 0 ? {} : base(r);
      for (let i = 0, n = 1 + r.int(3); i < n; i++) {
        const key = r.pick(KEYS);
        if (r.int(5) === 0) delete body[key];
        else body[key] = key === 'options' ? { [r.pick(['eta', '__proto__', 'x'])]: value(r, t) } : value(r, t);
      }
      const text = r.int(10) === 0 ? JSON.stringify(value(r, t)) : JSON.stringify(body);
      return json(bodyPath(r), text.replace('"junk"', '"__proto__"'));
    },
    syntax: (r) =>
      json(
        bodyPath(r),
        r.pick<string | Buffer>([
          '{',
          '{"model":',
          '{"steps":1,}',
          Buffer.from([0x7b, 0x22, 0x6d, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
          Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
          Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]),
          '1e999999',
          '['.repeat(70_000),
          `${'['.repeat(5000)}${']'.repeat(5000)}`,
          '{"model":"\\ud800"}',
          '{"steps":1e400}',
          'null',
          Buffer.from(Array.from({ length: 256 }, () => r.int(256))),
        ]),
      ),
    'content-type': (r) =>
      json(bodyPath(r), JSON.stringify(base(r)), r.pick(['text/plain', 'application/x-www-form-urlencoded', 'application/xml', '', 'application/json; charset=latin1', 'multipart/form-data', 'APPLICATION/JSON', 'image/png', 'application/json, text/plain'])),
    multipart: (r) => {
      const fields: Array<{ name: string; value: string; file?: string; type?: string }> = [{ name: 'model', value: r.pick([...t.models, '', 'nope']) }];
      const extra = r.pick(['seed', 'timesteps', 'denoiseFrom', '__proto__', 'constructor', 'model', 'x'.repeat(2000), 'image', '']);
      fields.push({ name: extra, value: String(r.pick<unknown>([...STRINGS, ...NUMBERS, '0,500,999', '[1,"a"]', '-1'])), ...(r.int(4) === 0 ? { file: 'f.txt', type: 'text/plain' } : {}) });
      return multipart(r, fields, r.int(2) === 0);
    },
    image: (r) => {
      const image = r.pick(t.images);
      const fields = [{ name: 'model', value: r.pick(t.models) }, { name: 'seed', value: String(r.int(100)) }];
      return multipart(r, [...fields, { name: 'image', value: image.bytes, file: image.name, type: r.int(3) ? image.type : 'image/png' }], r.int(4) === 0);
    },
    headers: (r) =>
      r.pick<() => Buffer>([
        () => rawRequest(`GET ${r.pick(PATHS)} HTTP/1.1`, [`Host: ${r.pick(['localhost:99999', 'a b', '[', 'evil.example:70000', '', ':80', '[::1', 'x'.repeat(300), 'evil.example', 'localhost:3000:1', '127.0.0.1:-1', 'localhost:0'])}`, 'Connection: close']),
        () => rawRequest(`${r.pick(METHODS)} ${r.pick(['http://x:99999/', 'http://127.0.0.1/healthz', '*', 'https://evil.example/api/generate', '127.0.0.1:1'])} HTTP/1.1`, [`Host: ${host}`, 'Connection: close']),
        () => request('POST', '/api/generate', ['Origin: http://evil.example', `Content-Type: ${r.pick(['text/plain', 'application/json'])}`], JSON.stringify(base(r))),
        () => rawRequest('POST /api/generate HTTP/1.1', [`Host: ${host}`, 'Content-Type: application/json', 'Content-Length: 5', 'Transfer-Encoding: chunked', 'Connection: close'], '0\r\n\r\n'),
        () => rawRequest('POST /api/generate HTTP/1.1', [`Host: ${host}`, 'Content-Type: application/json', 'Content-Length: 2', 'Content-Length: 7', 'Connection: close'], '{}'),
        () => rawRequest('POST /api/generate HTTP/1.1', [`Host: ${host}`, 'Content-Type: application/json', `Content-Length: ${r.pick(['-1', '99999999999999999999', 'abc', '1e3'])}`, 'Connection: close'], '{}'),
        () => rawRequest('POST /api/generate HTTP/1.1', [`Host: ${host}`, 'Content-Type: application/json', 'Transfer-Encoding: chunked', 'Connection: close'], r.pick(['zz\r\n{}\r\n0\r\n\r\n', '2\r\n{}', 'ffffffffffffffff\r\n{}\r\n0\r\n\r\n', '2;x\r\n{}\r\n0\r\n\r\n'])),
        () => rawRequest('GET / HTTP/1.1', [`Host: ${host}`, `X-Big: ${'x'.repeat(20_000)}`, 'Connection: close']),
        () => rawRequest('GET /healthz HTTP/1.1', [`Host: ${host}`, 'Bad Header: x', 'Connection: close']),
        () => rawRequest('GET /api/requests HTTP/1.1', [`Host: ${host}`, 'X-Forwarded-For: ' + r.pick(['', ',,,', '999.1.1.1', 'x'.repeat(5000)]), `X-Request-Id: ${r.pick(['', '\u00ff', 'x'.repeat(500), 'ok-id'])}`, `Authorization: ${r.pick(['Bearer', 'Basic !!!', 'Basic ' + Buffer.from('no-colon').toString('base64'), 'x'])}`, 'Connection: close']),
        () => Buffer.from(r.pick(['BREW / HTTP/1.1\r\n\r\n', 'get / HTTP/1.1\r\nHost: x\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'GET /\r\n\r\n', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 'GET / HTTP/1.0\r\n\r\n', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n']), 'latin1'),
      ])(),
    path: (r) => {
      const k = r.int(4);
      if (k === 0) return request(r.pick(METHODS), r.pick(TEMPLATES).replace(/:[a-z]+/g, () => r.pick([...PARAMS, randomUUID()])));
      if (k === 1) return request(r.pick(METHODS), r.pick(PATHS));
      if (k === 2) return request('GET', `${r.pick(['/api/requests', '/api/samplers', '/api/models'])}?${r.pick(['limit=-5', 'limit=1e400', 'limit=abc', 'model=%', 'model=nope', 'limit=%zz', 'a=1&a=2', '%=%', 'x'.repeat(3000)])}`);
      return request(r.pick(METHODS), `/${Array.from({ length: 1 + r.int(4) }, () => r.pick([...PARAMS, 'api', 'requests', 'images', randomUUID()])).join('/')}`);
    },
    slack: (r) => {
      const now = Math.floor(Date.now() / 1000);
      const body = r.pick(['', 'x=1', 'ssl_check=1&command=/generate', 'payload=%7Bnot%20json', 'payload=' + encodeURIComponent(JSON.stringify(value(r, t))), JSON.stringify({ type: 'event_callback', event: value(r, t) }), 'command=%2Fgenerate&text=' + encodeURIComponent(String(value(r, t)))]);
      const kind = r.int(5);
      const headers =
        kind === 0 ? ['Content-Type: application/x-www-form-urlencoded']
        : kind === 1 ? signed(body, now, 'not-the-secret')
        : kind === 2 ? signed(body, now + r.pick([-1, 1]) * (301 + r.int(100000)))
        : kind === 3 ? [...signed(body, now).slice(1), 'Content-Type: application/json']
        : signed(body, now);
      return request('POST', '/slack/events', headers, body);
    },
  };
  return makers;
}

/** `count` cases drawn across every category from `seed`. */
export function fuzzCases(t: FuzzTarget, count: number, seed: number): FuzzCase[] {
  const makers = caseMaker(t);
  const categories = Object.keys(makers).filter((c) => c !== 'slack' || t.slackSecret);
  const r = new Rng(seed);
  return Array.from({ length: count }, () => {
    const category = r.pick(categories);
    return { category, bytes: makers[category]!(r) };
  });
}
