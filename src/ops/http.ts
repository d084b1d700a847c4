/**
 * GET /healthz and GET /metrics as a plain node:http handler: `handle(req, res)` answers and
 * returns true for these two paths and returns false for anything else, so it mounts in front of
 * (or inside) any router.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { routeOf } from '../server/http.ts';
import type { Health } from './health.ts';
import type { PinoLogger, RequestLog } from './logger.ts';
import { logRequest } from './logger.ts';
import type { Metrics } from './metrics.ts';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export interface OpsRoutesOptions {
  readonly health: Health;
  /** Omit to leave /metrics unserved (METRICS=off). */
  readonly metrics?: Metrics | undefined;
}

export function opsRoutes(options: OpsRoutesOptions): RouteHandler {
  return async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/healthz' && !(path === '/metrics' && options.metrics)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'method not allowed' }));
      return true;
    }
    if (path === '/healthz') {
      const report = await options.health.report();
      const body = JSON.stringify(report);
      res.writeHead(report.status === 'ok' ? 200 : 503, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    }
    const metrics = options.metrics!;
    const text = await metrics.render();
    res.writeHead(200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : text);
    return true;
  };
}

/**
 * Per-request logging and HTTP metrics in one call at the top of the server's request handler:
 *   const { log } = observe(req, res);
 * sets X-Request-Id, logs the request when it finishes and observes its duration.
 */
export function httpObserver(deps: { readonly logger: PinoLogger; readonly metrics?: Metrics | undefined }) {
  return (req: IncomingMessage, res: ServerResponse): RequestLog => {
    const started = performance.now();
    const entry = logRequest(deps.logger, req, res);
    if (deps.metrics) {
      const metrics = deps.metrics;
      res.once('close', () => {
        // Labelled by route template, never by path: random paths must not create a time series each.
        metrics.observeHttp(req.method ?? 'GET', routeOf(req), res.statusCode, (performance.now() - started) / 1000);
      });
    }
    return entry;
  };
}
