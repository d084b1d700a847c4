/**
 * The one HTTP server on PORT. A deliberately small router on node:http: the web API, the
 * playground pages and Slack's Bolt receiver all share it.
 *
 *   const http = new HttpServer({ log });
 *   http.route('GET', '/api/requests/:id/images/:name', handler);   // params.id, params.name
 *   http.mount('/slack/events', boltReceiver.requestListener);      // any method, prefix match
 *   await http.listen(3000);
 *
 * Routes are matched before mounts; among mounts the longest prefix wins.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';

export type RouteParams = Readonly<Record<string, string>>;
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, params: RouteParams, url: URL) => void | Promise<void>;

interface Route {
  readonly method: string;
  readonly pattern: string;
  readonly regex: RegExp;
  readonly handler: RouteHandler;
}

interface Mount {
  readonly prefix: string;
  readonly listener: RequestListener;
}

/** '/api/requests/:id/images/:name' -> a regex with named groups; a param ends at '/' (or a literal suffix like '.png'). */
export function compilePattern(pattern: string): RegExp {
  const parts = pattern.split(/(:[A-Za-z_][A-Za-z0-9_]*)/);
  const body = parts
    .map((p) => (p.startsWith(':') ? `(?<${p.slice(1)}>[^/]+?)` : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}/?$`);
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body.message === 'string' ? body.message : `HTTP ${status}`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

/** Reads the whole body, refusing more than `limitBytes` with 413. */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limitBytes) throw new HttpError(413, { error: 'too_large', message: `body larger than ${limitBytes} bytes` });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limitBytes) throw new HttpError(413, { error: 'too_large', message: `body larger than ${limitBytes} bytes` });
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON body; 400 naming "body" when it is not JSON. */
export async function readJson(req: IncomingMessage, limitBytes = 64 * 1024): Promise<unknown> {
  const raw = await readBody(req, limitBytes);
  if (raw.length === 0) return {};
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, { error: 'validation', field: 'body', message: 'body is not valid JSON' });
  }
}

/** A WHATWG Request over the Node request, for `formData()` (multipart) parsing. */
export async function toWebRequest(req: IncomingMessage, url: URL, limitBytes: number): Promise<Request> {
  const body = await readBody(req, limitBytes);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  }
  return new Request(url, { method: req.method ?? 'GET', headers, body: Readable.toWeb(Readable.from([body])) as ReadableStream, duplex: 'half' } as RequestInit);
}

export interface HttpServerOptions {
  readonly log: Logger;
}

export class HttpServer {
  readonly server: Server;
  private readonly routes: Route[] = [];
  private readonly mounts: Mount[] = [];
  private readonly log: Logger;

  constructor(options: HttpServerOptions) {
    this.log = options.log;
    this.server = createServer((req, res) => void this.dispatch(req, res));
    // SSE streams stay open; do not let Node's request timeout cut them.
    this.server.requestTimeout = 0;
    this.server.headersTimeout = 30_000;
  }

  /** Adds a route. `pattern` params are `:name` segments, e.g. '/api/requests/:id'. */
  route(method: string, pattern: string, handler: RouteHandler): void {
    this.routes.push({ method: method.toUpperCase(), pattern, regex: compilePattern(pattern), handler });
  }

  /** Hands every request under `prefix` (any method) to a Node request listener, e.g. Bolt's HTTPReceiver.requestListener. */
  mount(prefix: string, listener: RequestListener): void {
    this.mounts.push({ prefix: prefix.replace(/\/$/, ''), listener });
    this.mounts.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** Listens on `port` (0 = any free port); resolves with the bound port. */
  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting connections and closes idle and streaming ones. */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      // Long-lived SSE connections would otherwise keep close() waiting forever.
      setTimeout(() => this.server.closeAllConnections(), 2000).unref();
    });
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
    const method = (req.method ?? 'GET').toUpperCase();
    try {
      let pathMatched = false;
      for (const r of this.routes) {
        const m = r.regex.exec(url.pathname);
        if (!m) continue;
        pathMatched = true;
        if (r.method !== method && !(r.method === 'GET' && method === 'HEAD')) continue;
        const params: Record<string, string> = {};
        for (const [k, v] of Object.entries(m.groups ?? {})) params[k] = decodeURIComponent(v);
        await r.handler(req, res, params, url);
        return;
      }
      const mount = this.mounts.find((m) => url.pathname === m.prefix || url.pathname.startsWith(`${m.prefix}/`) || m.prefix === '');
      if (mount) {
        mount.listener(req, res);
        return;
      }
      if (pathMatched) sendJson(res, 405, { error: 'method_not_allowed', message: `${method} is not supported here` });
      else sendJson(res, 404, { error: 'not_found', message: `no route for ${method} ${url.pathname}` });
    } catch (err) {
      if (err instanceof HttpError) {
        if (!res.headersSent) sendJson(res, err.status, err.body, err.headers);
        else res.end();
        return;
      }
      this.log.error({ err, method, path: url.pathname }, 'http handler failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal', message: 'internal error' });
      else res.end();
    }
  }
}
