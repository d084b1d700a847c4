/**
 * What operations read from the database: a round trip for liveness and readiness, and request
 * counts for /healthz and the /metrics gauges.
 */
import type { Prisma } from './client.ts';
import type { Request } from './generated/client.ts';

export interface QueueCounts {
  readonly queued: number;
  readonly running: number;
}

export interface RequestCount {
  readonly platform: Request['platform'];
  readonly kind: Request['kind'];
  readonly status: Request['status'];
  readonly count: number;
}

export interface OpsQueries {
  /** Resolves once the database answered a query. */
  ping(): Promise<void>;
  queueCounts(): Promise<QueueCounts>;
  requestCounts(): Promise<RequestCount[]>;
}

export function opsQueries(prisma: Prisma): OpsQueries {
  return {
    async ping() {
      await prisma.$queryRaw`SELECT 1`;
    },
    async queueCounts() {
      const [row] = await prisma.$queryRaw<[QueueCounts]>`
        SELECT count(*) FILTER (WHERE status = 'queued')::int AS queued, count(*) FILTER (WHERE status = 'running')::int AS running FROM requests`;
      return row;
    },
    async requestCounts() {
      const groups = await prisma.request.groupBy({ by: ['platform', 'kind', 'status'], _count: { _all: true } });
      return groups.map((g) => ({ platform: g.platform, kind: g.kind, status: g.status, count: g._count._all }));
    },
  };
}
