/**
 * Wires the job system for one process: database (external Postgres or embedded PGlite),
 * migrations, the event bus, the service and (unless ROLE=bot) a worker. main.ts,
 * tests, benchmarks and worker processes all start it the same way.
 */
import type { Logger } from '../ops/logger.ts';
import type { Config } from '../config.ts';
import { connectDatabase, type Database } from '../db/client.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded.ts';
import { migrateDeploy } from '../db/migrate.ts';
import { LocalEventBus, PgEventBus, type EventBus } from './bus.ts';
import type { EnginePort, RenderPort } from './engine-port.ts';
import { JobService } from './job-service.ts';
import type { RequestCounters } from './types.ts';
import { Worker } from './worker.ts';

export type JobRuntimeConfig = Pick<
  Config,
  | 'DATABASE_URL'
  | 'DATA_DIR'
  | 'ROLE'
  | 'LIMIT_CONCURRENT_PER_USER'
  | 'LIMIT_PER_HOUR'
  | 'LIMIT_QUEUE_CAP'
  | 'BATCH_SIZE'
  | 'WORKER_CONCURRENCY'
  | 'JOB_EXPIRE_SECONDS'
  | 'JOB_HEARTBEAT_SECONDS'
  | 'JOB_RETRY_LIMIT'
  | 'WORKER_POLL_MS'
  | 'SHUTDOWN_GRACE_SECONDS'
  | 'PROGRESS_MIN_INTERVAL_MS'
  | 'PROGRESS_PREVIEWS'
  | 'MIGRATE_ON_START'
>;

export interface JobRuntime {
  readonly db: Database;
  readonly bus: EventBus;
  readonly service: JobService;
  readonly worker: Worker | null;
  /** Stops the worker gracefully (finish or requeue), then the bus, pool and embedded database. */
  close(): Promise<void>;
}

export interface JobRuntimeDeps {
  readonly config: JobRuntimeConfig;
  readonly engine: EnginePort;
  readonly render: RenderPort;
  readonly log: Logger;
  /** Start the worker loop (default: ROLE is all or worker). */
  readonly startWorker?: boolean;
  readonly workerId?: string;
  /** Per-process request counters (ops' Metrics). */
  readonly counters?: RequestCounters;
}

export async function startJobRuntime(deps: JobRuntimeDeps): Promise<JobRuntime> {
  const { config, log } = deps;
  let embedded: EmbeddedPostgres | null = null;
  let url = config.DATABASE_URL;
  if (!url) {
    if (config.ROLE !== 'all') throw new Error('ROLE=bot and ROLE=worker need DATABASE_URL: the embedded database serves one process');
    embedded = await startEmbeddedPostgres(config.DATA_DIR);
    url = embedded.url;
    log.info({ dataDir: config.DATA_DIR }, 'using embedded PGlite database (set DATABASE_URL for Postgres)');
  }
  try {
    if (config.MIGRATE_ON_START) await migrateDeploy(url);
    const db = connectDatabase(url, {
      embedded: embedded !== null,
      applicationName: `ddpm-bot-${config.ROLE}`,
      onPoolError: (err) => log.warn({ error: err.message }, 'database connection lost'),
    });
    const bus: EventBus = embedded ? new LocalEventBus() : await PgEventBus.start(url, db.prisma, log);
    const service = new JobService({
      db,
      bus,
      engine: deps.engine,
      limits: { concurrentPerUser: config.LIMIT_CONCURRENT_PER_USER, perHour: config.LIMIT_PER_HOUR, queueCap: config.LIMIT_QUEUE_CAP },
      log,
      counters: deps.counters,
      comparisonLease: { leaseSeconds: config.JOB_EXPIRE_SECONDS, heartbeatMs: config.JOB_HEARTBEAT_SECONDS * 1000 },
    });
    const wantWorker = deps.startWorker ?? config.ROLE !== 'bot';
    const worker = wantWorker
      ? new Worker(
          { db, bus, engine: deps.engine, render: deps.render, log, counters: deps.counters },
          {
            batchSize: config.BATCH_SIZE,
            concurrency: config.WORKER_CONCURRENCY,
            pollMs: config.WORKER_POLL_MS,
            retryLimit: config.JOB_RETRY_LIMIT,
            leaseSeconds: config.JOB_EXPIRE_SECONDS,
            heartbeatMs: config.JOB_HEARTBEAT_SECONDS * 1000,
            soleWorker: embedded !== null,
            progressMinIntervalMs: config.PROGRESS_MIN_INTERVAL_MS,
            previews: config.PROGRESS_PREVIEWS,
            shutdownGraceMs: config.SHUTDOWN_GRACE_SECONDS * 1000,
            ...(deps.workerId ? { workerId: deps.workerId } : {}),
          },
        )
      : null;
    await worker?.start();
    let closed = false;
    return {
      db,
      bus,
      service,
      worker,
      async close() {
        if (closed) return;
        closed = true;
        await worker?.stop();
        await bus.close();
        await db.close();
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop().catch(() => undefined);
    throw err;
  }
}
