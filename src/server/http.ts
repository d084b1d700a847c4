/**
 * The one HTTP server on PORT. A deliberately small router on node:http: the web API, the
 * playground pages and Slack's Bolt receiver all share it.
 *
 *   const http = new HttpServer({ log, guard });
 *   http.route('GET', '/api/requests/:id/images/:name', handler);   // params.id, params.name
 *   http.route('GET', '/healthz', handler, { auth: false });          // served without API_TOKEN
 *   http.mount('/slack/events', listener, { maxBodyBytes, selfAuthenticated: true }); // any method, prefix match
 *   await http.listen(3000, '127.0.0.1');
 *
 * Routes are matched before mounts; among mounts the longest prefix wins. Every request ends in an
 * answer: a malformed target, Host or parameter is a 400, a refused one a 4xx from the guard, and
 * anything a handler throws is caught here.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../ops/logger.ts';
import { readBody } from './body.ts';
import { HttpError, sendJson } from './errors.ts';
import type { RequestGuard } from './guard.ts';
import { decodeParam, requestHost, requestUrl } from './request.ts';

export { HttpError, badRequest, sendJson } from './errors.ts';
export { readBody, readJson, toWebRequest } from './body.ts';

export type RouteParams = Readonly<Record<string, string>>;
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, params: RouteParams, url: URL) => void | Promise<void>;

export interface RouteOptions {
  /** false: served without API_TOKEN (health probes, metrics). Default true. */
  readonly auth?: boolean;
}

export interface MountOptions {
  /** Most body bytes read for the listener (enforced on the stream); it gets them as `req.rawBody`, as Bolt expects. */
  readonly maxBodyBytes: number;
  /** The listener authenticates every caller itself (Slack signatures): no Host, Origin or token checks. */
  readonly selfAuthenticated?: boolean;
}

interface Route extends Required<RouteOptions> {
  readonly method: string;
  readonly pattern: string;
  readonly regex: RegExp;
  readonly handler: RouteHandler;
}

interface Mount extends MountOptions {
  readonly prefix: string;
  readonly listener: RequestListener;
}

/** The label of everything no route or mount serves (404, 405, malformed requests). */
export const UNMATCHED_ROUTE = '(unmatched)';
const templates = new WeakMap<IncomingMessage, string>();

/** The route template that served `req` ('/api/requests/:id'), a mount prefix, or UNMATCHED_ROUTE: a bounded metrics label. */
export function routeOf(req: IncomingMessage): string {
  return templates.get(req) ?? UNMATCHED_ROUTE;
}

/** '/api/requests/:id/images/:name' -> a regex with named groups; a param ends at '/' (or a literal suffix like '.png'). */
export function compilePattern(pattern: string): RegExp {
  const parts = pattern.split(/(:[A-Za-z_][A-Za-z0-9_]*)/);
  const body = parts
    .map((p) => (p.startsWith(':') ? `(?<${p.slice(1)}>[^/]+?)` : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}/?$`);
}

export interface HttpServerOptions {
  readonly log: Logger;
  /** Host allow-list, cross-site and token checks (./guard.ts); none: every request is let through. */
  readonly guard?: RequestGuard;
  /** The whole request (headers and body) must arrive within this; default 60 s. Responses (SSE) are not limited. */
  readonly requestTimeoutMs?: number;
}

export class HttpServer {
  readonly server: Server;
  private readonly routes: Route[] = [];
  private readonly mounts: Mount[] = [];
  private readonly log: Logger;
  private readonly guard: RequestGuard | undefined;

  constructor(options: HttpServerOptions) {
    this.log = options.log;
    this.guard = options.guard;
    const requestTimeout = options.requestTimeoutMs ?? 60_000;
    // A client that stalls mid-headers or mid-body gets 408 and is disconnected; checked every second.
    this.server = createServer({ requestTimeout, headersTimeout: Math.min(requestTimeout, 10_000), connectionsCheckingInterval: 1000 }, (req, res) => {
      this.dispatch(req, res).catch((err: unknown) => this.log.error({ err }, 'http dispatch failed'));
    });
  }

  /** Adds a route. `pattern` params are `:name` segments, e.g. '/api/requests/:id'. */
  route(method: string, pattern: string, handler: RouteHandler, options: RouteOptions = {}): void {
    this.routes.push({ method: method.toUpperCase(), pattern, regex: compilePattern(pattern), handler, auth: options.auth ?? true });
  }

  /** Hands every request under `prefix` (any method) to a Node request listener, e.g. Bolt's HTTPReceiver.requestListener. */
  mount(prefix: string, listener: RequestListener, options: MountOptions): void {
    this.mounts.push({ ...options, prefix: prefix.replace(/\/$/, ''), listener });
    this.mounts.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** Listens on `host`:`port` (0 = any free port); resolves with the bound port. */
  async listen(port: number, host = '127.0.0.1'): Promise<number> {
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
    const method = (req.method ?? 'GET').toUpperCase();
    try {
      const url = requestUrl(req);
      const host = requestHost(req);
      let pathMatched = false;
      for (const r of this.routes) {
        const m = r.regex.exec(url.pathname);
        if (!m) continue;
        pathMatched = true;
        if (r.method !== method && !(r.method === 'GET' && method === 'HEAD')) continue;
        templates.set(req, r.pattern);
        this.guard?.(req, { method, host, auth: r.auth, selfAuthenticated: false, matched: true });
        const params: Record<string, string> = {};
        for (const [k, v] of Object.entries(m.groups ?? {})) params[k] = decodeParam(k, v);
        await r.handler(req, res, params, url);
        return;
      }
      const mount = this.mounts.find((m) => url.pathname === m.prefix || url.pathname.startsWith(`${m.prefix}/`) || m.prefix === '');
      if (mount) {
        templates.set(req, mount.prefix || '/');
        this.guard?.(req, { method, host, auth: true, selfAuthenticated: mount.selfAuthenticated ?? false, matched: true });
        // Read (bounded) here, so no listener ever buffers an unbounded body itself.
        (req as IncomingMessage & { rawBody?: Buffer }).rawBody = await readBody(req, mount.maxBodyBytes);
        mount.listener(req, res);
        return;
      }
      // Unserved paths still pass the Host check, so a rebound name cannot probe what exists.
      this.guard?.(req, { method, host, auth: false, selfAuthenticated: false, matched: false });
      if (pathMatched) sendJson(res, 405, { error: 'method_not_allowed', message: `${method} is not supported here` });
      else sendJson(res, 404, { error: 'not_found', message: `no route for ${method} ${url.pathname.slice(0, 200)}` });
    } catch (err) {
      if (err instanceof HttpError) {
        if (!res.headersSent) sendJson(res, err.status, err.body, err.headers);
        else res.end();
        return;
      }
      this.log.error({ err, method, path: (req.url ?? '').split('?')[0]?.slice(0, 200) }, 'http handler failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal', message: 'internal error' });
      else res.end();
    }
  }
}
