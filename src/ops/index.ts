/**
 * The operations surface in one call, for src/main.ts: metrics, health checks over the database,
 * the queue and the model sessions, and the /healthz + /metrics handler.
 */
import type { OpsConfig } from './config.ts';
import type { HealthCheck, ModelSessions, OpsQueries } from './health.ts';
import { HttpServer } from '../server/http.ts';
import { Health, databaseCheck, modelsCheck, queueCheck, queueDepth } from './health.ts';
import type { RouteHandler } from './http.ts';
import { httpObserver, opsRoutes } from './http.ts';
import { instrumentServer } from './instrument.ts';
import type { PinoLogger } from './logger.ts';
import { Metrics } from './metrics.ts';

export { loadOpsConfig } from './config.ts';
export type { OpsConfig } from './config.ts';
export { createLogger, logRequest, requestContext, requestIdFor } from './logger.ts';
export { instrumentEngine, instrumentServer } from './instrument.ts';
export type { Logger, PinoLogger } from './logger.ts';
export { Metrics } from './metrics.ts';
export { Health } from './health.ts';
export type { RouteHandler } from './http.ts';
export { httpObserver } from './http.ts';

export interface OpsDeps {
  /** Only METRICS matters here (off: /metrics is not served). */
  readonly config: Pick<OpsConfig, 'METRICS'> & Partial<OpsConfig>;
  /** The database's readings (database and queue checks, queue depth, request counts). */
  readonly db?: OpsQueries | undefined;
  /** The engine when this process runs models (ROLE all/worker); the models check loads each session once. Anything without model sessions is ignored. */
  readonly engine?: ModelSessions | object | undefined;
  /** More checks, e.g. { discord: () => client.ws.ping >= 0 ... }. */
  readonly checks?: Readonly<Record<string, HealthCheck>>;
  readonly metrics?: Metrics;
}

export interface Ops {
  readonly metrics: Metrics;
  readonly health: Health;
  /** Answers GET /healthz and GET /metrics (unless METRICS=off); false for every other request. */
  readonly routes: RouteHandler;
}

export function createOps(deps: OpsDeps): Ops {
  const metrics = deps.metrics ?? new Metrics();
  const health = new Health();
  if (deps.db) {
    health.register('database', databaseCheck(deps.db)).register('queue', queueCheck(deps.db));
    metrics.setQueueDepthSource(queueDepth(deps.db));
    metrics.setRequestCountsSource(() => deps.db!.requestCounts());
  }
  const engine = deps.engine as Partial<ModelSessions> | undefined;
  if (engine && typeof engine.models?.list === 'function' && typeof engine.denoiser === 'function') health.register('models', modelsCheck(engine as ModelSessions));
  for (const [name, check] of Object.entries(deps.checks ?? {})) health.register(name, check);
  return { metrics, health, routes: opsRoutes({ health, metrics: deps.config.METRICS ? metrics : undefined }) };
}

/**
 * Puts the ops surface on the service's HTTP server: GET /healthz, GET /metrics (unless METRICS=off),
 * and request ids + one log line + HTTP metrics for every request the server handles.
 */
export function registerOps(http: HttpServer, ops: Ops, logger: PinoLogger): void {
  const serve = async (req: Parameters<RouteHandler>[0], res: Parameters<RouteHandler>[1]) => {
    if (await ops.routes(req, res)) return;
    res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: 'not_found', message: 'metrics are off (METRICS=off)' }));
  };
  // Probes and scrapers carry no API token; METRICS=off is how /metrics is hidden.
  http.route('GET', '/healthz', serve, { auth: false });
  http.route('GET', '/metrics', serve, { auth: false });
  instrumentServer(http.server, httpObserver({ logger, metrics: ops.metrics }));
}

/**
 * ROLE=worker runs no HTTP server, so its sampling metrics would be invisible: with METRICS_PORT
 * set, a small server answers /healthz and /metrics (nothing else) on that port and HOST.
 */
export async function startOpsServer(port: number, host: string, ops: Ops, logger: PinoLogger): Promise<{ readonly port: number; close(): Promise<void> }> {
  const http = new HttpServer({ log: logger });
  registerOps(http, ops, logger);
  const bound = await http.listen(port, host);
  logger.info({ host, port: bound }, 'ops server listening (/healthz, /metrics)');
  return { port: bound, close: () => http.close() };
}
