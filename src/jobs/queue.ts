/**
 * The durable queue: pg-boss 10 on the shared pool. pg-boss owns leases (expireInSeconds), retries
 * and SKIP LOCKED fetching; the requests table stays the source of truth for what a user sees.
 *
 * One pg-boss queue per batch key (model, sampler, steps, options): a worker fetching up to B jobs
 * from one queue gets jobs that can share an ONNX batch. Job ids equal request ids.
 */
import { createHash } from 'node:crypto';
import PgBoss from 'pg-boss';
import type pg from 'pg';
import type { Logger } from 'pino';

export const NOISE_DEMO_QUEUE = 'noise-demo';
/** pg-boss's schema (its default, named so the in-transaction queue creation below can call its SQL). */
const BOSS_SCHEMA = 'pgboss';

export interface QueueOptions {
  readonly expireInSeconds: number;
  readonly retryLimit: number;
  readonly maintenanceIntervalSeconds: number;
}

export interface JobData {
  readonly requestId: string;
}

export interface FetchedJob {
  readonly id: string;
  readonly queue: string;
  readonly requestId: string;
  /** How many times pg-boss handed this job out before (crashes, expiries, failures). */
  readonly retryCount: number;
}

/** Something that runs SQL: the pool, or a client inside an open transaction. */
export interface SqlRunner {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** Stable JSON (sorted keys) so equal options give equal batch keys. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function batchKeyOf(p: { model: string; sampler: string; steps: number; options: Readonly<Record<string, unknown>> }): string {
  return canonicalJson({ model: p.model, sampler: p.sampler, steps: p.steps, options: p.options });
}

export function queueNameForBatchKey(batchKey: string): string {
  return `gen-${createHash('sha1').update(batchKey).digest('hex').slice(0, 20)}`;
}

function asDb(runner: SqlRunner): PgBoss.Db {
  return { executeSql: (text: string, values: unknown[]) => runner.query(text, values) as Promise<{ rows: never[] }> };
}

/**
 * pg-boss gets two more retries than our own limit: if it gave up first (a job expiring on its last
 * attempt), the request row would stay "running" forever. This way the worker always sees the job
 * once more and fails the request itself, in our table, with a message.
 */
function bossRetryLimit(ourRetryLimit: number): number {
  return ourRetryLimit + 2;
}

export class JobQueue {
  private readonly knownQueues = new Set<string>();
  private readonly creating = new Map<string, Promise<void>>();

  private constructor(
    private readonly boss: PgBoss,
    private readonly options: QueueOptions,
  ) {}

  /** Starts pg-boss (creating/migrating its schema) on `pool`. `supervise` runs lease-expiry maintenance (workers do). */
  static async start(pool: pg.Pool, options: QueueOptions, log: Logger, supervise: boolean): Promise<JobQueue> {
    const boss = new PgBoss({
      db: asDb(pool),
      schema: BOSS_SCHEMA,
      supervise,
      schedule: false,
      migrate: true,
      maintenanceIntervalSeconds: options.maintenanceIntervalSeconds,
    });
    boss.on('error', (err) => log.warn({ error: err.message }, 'pg-boss error'));
    await boss.start();
    return new JobQueue(boss, options);
  }

  /**
   * Creates the queue if needed: once per process (concurrent callers share one attempt), and
   * across processes by retrying, because pg-boss creating the same partition concurrently can
   * deadlock; the loser finds the queue made by the winner.
   */
  async ensureQueue(name: string): Promise<void> {
    if (this.knownQueues.has(name)) return;
    let pending = this.creating.get(name);
    if (!pending) {
      pending = this.createQueueWithRetry(name).finally(() => this.creating.delete(name));
      this.creating.set(name, pending);
    }
    await pending;
  }

  private async createQueueWithRetry(name: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (!(await this.boss.getQueue(name))) await this.boss.createQueue(name, { name, ...this.queueSettings() });
        this.knownQueues.add(name);
        return;
      } catch (err) {
        if (attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 100 * attempt));
      }
    }
  }

  private queueSettings() {
    return {
      policy: 'standard',
      expireInSeconds: this.options.expireInSeconds,
      retryLimit: bossRetryLimit(this.options.retryLimit),
      retryDelay: 0,
      retryBackoff: false,
      // Keep finished jobs briefly; the requests table is the long-term record.
      retentionMinutes: 60 * 24,
    } as const;
  }

  /**
   * Creates the queue inside the caller's transaction, so it exists exactly when a request that
   * needs it commits: a submission refused (limits, validation) or rolled back leaves no queue and
   * no partition table behind. pg-boss's createQueue cannot join a transaction, so its SQL function
   * is called directly; a transaction-scoped lock serialises creations across processes (concurrent
   * partition DDL can deadlock).
   */
  private async createQueueIn(runner: SqlRunner, name: string): Promise<void> {
    const { rows } = await runner.query(`SELECT 1 FROM ${BOSS_SCHEMA}.queue WHERE name = $1`, [name]);
    if (rows.length > 0) {
      this.knownQueues.add(name);
      return;
    }
    await runner.query(`SELECT pg_advisory_xact_lock(hashtext('ddpm-bot:create-queue'))`);
    await runner.query(`SELECT ${BOSS_SCHEMA}.create_queue($1, $2::json)`, [name, JSON.stringify(this.queueSettings())]);
  }

  /**
   * Enqueues the job for `requestId` inside the caller's transaction (`runner`), so row and job
   * commit together; a queue this process has not seen yet is created in that transaction too.
   */
  async send(queue: string, requestId: string, runner: SqlRunner): Promise<void> {
    if (!this.knownQueues.has(queue)) await this.createQueueIn(runner, queue);
    const data: JobData = { requestId };
    const id = await this.boss.send(queue, data, {
      id: requestId,
      expireInSeconds: this.options.expireInSeconds,
      retryLimit: bossRetryLimit(this.options.retryLimit),
      retryDelay: 0,
      db: asDb(runner),
    });
    if (!id) throw new Error(`pg-boss refused job ${requestId} on ${queue}`);
  }

  /** Leases up to `batchSize` available jobs from `queue`. */
  async fetch(queue: string, batchSize: number): Promise<FetchedJob[]> {
    const jobs = await this.boss.fetch<JobData>(queue, { batchSize, includeMetadata: true });
    return jobs.map((j) => ({ id: j.id, queue, requestId: j.data.requestId, retryCount: j.retryCount }));
  }

  async complete(queue: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.boss.complete(queue, ids);
  }

  /** Marks jobs failed; pg-boss re-offers them while retries remain. */
  async fail(queue: string, ids: string[], reason: string): Promise<void> {
    for (const id of ids) await this.boss.fail(queue, id, { reason });
  }

  async cancel(queue: string, id: string): Promise<void> {
    await this.boss.cancel(queue, id);
  }

  async stop(): Promise<void> {
    await this.boss.stop({ graceful: false, close: false, wait: true });
  }
}
