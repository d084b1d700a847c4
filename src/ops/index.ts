/**
 * The operations surface in one call, for src/main.ts: metrics, health checks over the database,
 * the queue and the model sessions, and the /healthz + /metrics handler.
 */
import type { OpsConfig } from './config.ts';
import type { HealthCheck, ModelSessions, Queryable } from './health.ts';
import { Health, databaseCheck, modelsCheck, queueCheck, queueDepth } from './health.ts';
import type { RouteHandler } from './http.ts';
import { opsRoutes } from './http.ts';
import { Metrics } from './metrics.ts';

export { loadOpsConfig } from './config.ts';
export type { OpsConfig } from './config.ts';
export { createLogger, logRequest, requestIdFor } from './logger.ts';
export type { Logger } from './logger.ts';
export { Metrics } from './metrics.ts';
export { Health } from './health.ts';
export type { RouteHandler } from './http.ts';
export { httpObserver, routeLabel } from './http.ts';

export interface OpsDeps {
  readonly config: OpsConfig;
  /** The process's pg pool (database and queue checks, queue depth). */
  readonly db?: Queryable | undefined;
  /** The engine when this process runs models (ROLE all/worker); the models check loads each session once. */
  readonly engine?: ModelSessions | undefined;
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
  }
  if (deps.engine) health.register('models', modelsCheck(deps.engine));
  for (const [name, check] of Object.entries(deps.checks ?? {})) health.register(name, check);
  return { metrics, health, routes: opsRoutes({ health, metrics: deps.config.METRICS ? metrics : undefined }) };
}
