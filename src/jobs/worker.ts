/**
 * A generation worker: claims micro-batches from the requests table (src/db/queue-store.ts), keeps
 * their leases alive with a heartbeat while the engine runs them, and ends every attempt through one
 * guarded finish. Correctness rests on the attempt, not the lease: a worker that lost its lease
 * (killed, frozen, cut off) can never overwrite or duplicate the attempt that replaced it.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../ops/logger.ts';
import type { Database } from '../db/client.ts';
import { claimBatch, expireOtherLeases, type ClaimedRow } from '../db/queue-store.ts';
import type { BusMessage, EventBus } from './bus.ts';
import type { RenderPort } from './engine-port.ts';
import { execute, type WorkerEngine } from './execute.ts';
import { Finisher } from './finish.ts';
import { Heartbeat, type LeaseOptions } from './lease.ts';
import { DbRetry, sleep } from './retry.ts';
import type { RequestCounters } from './types.ts';

export interface WorkerOptions extends LeaseOptions {
  /** Up to this many jobs sharing a batch key run as one engine batch. */
  readonly batchSize: number;
  /** Parallel batch loops in this process. */
  readonly concurrency: number;
  readonly pollMs: number;
  /** Attempts beyond 1 + this fail the request instead of running it again (crash loops). */
  readonly retryLimit: number;
  readonly progressMinIntervalMs: number;
  readonly previews: boolean;
  readonly shutdownGraceMs: number;
  /**
   * This process is the only one that can reach the database (embedded PGlite): every lease not its
   * own belongs to an earlier incarnation that is gone, so it takes those jobs back at start.
   */
  readonly soleWorker: boolean;
  readonly workerId?: string;
}

export interface WorkerDeps {
  readonly db: Database;
  readonly bus: EventBus;
  readonly engine: WorkerEngine;
  readonly render: RenderPort;
  readonly log: Logger;
  readonly counters?: RequestCounters;
}

class ShutdownAbort extends Error {
  override readonly name = 'ShutdownAbort';
}
class CancelAbort extends Error {
  override readonly name = 'CancelAbort';
}

/** After the grace period, how long a stopping worker keeps retrying database writes (requeue, results). */
const STOP_DB_RETRY_MS = 10_000;

interface Running {
  readonly abort: AbortController;
  readonly rows: readonly ClaimedRow[];
  readonly cancelled: Set<string>;
}

export class Worker {
  readonly id: string;
  private stopping = false;
  private readonly loops: Promise<void>[] = [];
  private readonly running = new Set<Running>();
  private wake: (() => void) | null = null;
  /** A `queued` event arrived that no idle loop was waiting for: the next idle() returns at once. */
  private nudged = false;
  private unsubscribe: (() => void) | null = null;
  private readonly retry: DbRetry;
  private readonly finisher: Finisher;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly options: WorkerOptions,
  ) {
    this.id = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.retry = new DbRetry(deps.log);
    this.finisher = new Finisher({ prisma: deps.db.prisma, bus: deps.bus, log: deps.log, counters: deps.counters }, this.retry);
  }

  async start(): Promise<void> {
    if (this.options.soleWorker) {
      const resumed = await expireOtherLeases(this.deps.db.prisma, this.id);
      if (resumed > 0) this.deps.log.info({ workerId: this.id, resumed }, 'took back jobs leased by an earlier run of this service');
    }
    this.unsubscribe = this.deps.bus.subscribe((m) => this.onBusMessage(m));
    for (let i = 0; i < this.options.concurrency; i++) this.loops.push(this.loop());
    this.deps.log.info({ workerId: this.id, batchSize: this.options.batchSize, leaseSeconds: this.options.leaseSeconds }, 'worker started');
  }

  /**
   * Graceful stop: take no new work; running batches get `shutdownGraceMs` to finish, then are
   * aborted and their requests requeued for another worker.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.retry.giveUpBy(Date.now() + this.options.shutdownGraceMs + STOP_DB_RETRY_MS);
    this.wake?.();
    const grace = setTimeout(() => {
      for (const r of this.running) r.abort.abort(new ShutdownAbort('worker shutting down'));
    }, this.options.shutdownGraceMs);
    await Promise.all(this.loops);
    clearTimeout(grace);
    this.unsubscribe?.();
    this.deps.log.info({ workerId: this.id }, 'worker stopped');
  }

  private onBusMessage(m: BusMessage): void {
    if (m.t === 'queued') {
      if (this.wake) this.wake();
      else this.nudged = true;
    }
    if (m.t !== 'abort') return;
    for (const r of this.running) {
      if (!r.rows.some((row) => row.id === m.id)) continue;
      r.cancelled.add(m.id);
      // Abort the engine only when nobody else in the batch still wants their images.
      if (r.rows.every((row) => r.cancelled.has(row.id))) r.abort.abort(new CancelAbort('cancelled'));
    }
  }

  private async loop(): Promise<void> {
    let backoff = this.options.pollMs;
    while (!this.stopping) {
      let rows: readonly ClaimedRow[];
      try {
        rows = await this.claim();
        backoff = this.options.pollMs;
      } catch (err) {
        this.deps.log.warn({ err }, 'worker: cannot claim work (database down?), retrying');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
        continue;
      }
      if (rows.length === 0) {
        await this.idle();
        continue;
      }
      try {
        await this.run(rows);
      } catch (err) {
        this.deps.log.error({ err }, 'worker: batch abandoned (its leases will pass and it will run again)');
      }
    }
  }

  private async idle(): Promise<void> {
    if (this.nudged || this.stopping) {
      this.nudged = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        if (this.wake === done) this.wake = null;
        resolve();
      };
      const t = setTimeout(done, this.options.pollMs);
      this.wake = done;
    });
  }

  private async claim(): Promise<readonly ClaimedRow[]> {
    // Whatever was queued before this claim, it sees.
    this.nudged = false;
    const claim = await claimBatch(this.deps.db.prisma, {
      workerId: this.id,
      batchId: randomUUID(),
      batchSize: this.options.batchSize,
      leaseSeconds: this.options.leaseSeconds,
      retryLimit: this.options.retryLimit,
      channel: this.deps.bus.channel,
    });
    await this.finisher.ended(claim.gaveUp, 'failed');
    await this.finisher.ended(claim.cancelled, 'cancelled');
    await this.deps.bus.carried(claim.running);
    return claim.run;
  }

  private async run(rows: readonly ClaimedRow[]): Promise<void> {
    const entry: Running = { abort: new AbortController(), rows, cancelled: new Set() };
    this.running.add(entry);
    const heartbeat = new Heartbeat(this.deps.db.prisma, this.id, rows.map((r) => r.id), this.options, this.deps.log);
    try {
      await this.runClaimed(entry);
    } finally {
      heartbeat.stop();
      this.running.delete(entry);
    }
  }

  private async runClaimed({ rows, abort, cancelled }: Running): Promise<void> {
    const started = Date.now();
    let outputs;
    try {
      outputs = await execute(rows, { ...this.deps, prisma: this.deps.db.prisma }, this.options, abort.signal);
    } catch (err) {
      const reason: unknown = abort.signal.aborted ? abort.signal.reason : err;
      if (reason instanceof ShutdownAbort) {
        await this.finisher.finish(rows.map((row) => ({ row, outcome: { status: 'queued', reason: 'worker shut down before finishing' } }))).catch(() => undefined);
      } else if (reason instanceof CancelAbort) {
        await this.finisher.finish(rows.map((row) => ({ row, outcome: { status: 'cancelled' } })));
      } else {
        const message = err instanceof Error ? err.message : String(err);
        this.deps.log.error({ err, requests: rows.map((r) => r.id) }, 'generation failed');
        // Engine errors are deterministic for these parameters; retrying would fail again.
        await this.finisher.finish(rows.map((row) => ({ row, outcome: { status: 'failed', error: message } })));
      }
      return;
    }
    const samplingMs = Date.now() - started;
    await this.finisher.finish(
      rows.map((row, i) => ({ row, outcome: cancelled.has(row.id) ? { status: 'cancelled' } : { status: 'succeeded', ...outputs[i]!, samplingMs } })),
    );
  }
}
