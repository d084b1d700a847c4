/**
 * A generation worker: leases micro-batches from pg-boss, runs them through the engine and commits
 * results. Correctness rests on the requests row, not on the lease: every start increments
 * `attempts`, and a result is committed only if the row is still running *that* attempt, so a
 * worker whose lease expired (slow or killed) can never overwrite or duplicate a later attempt.
 */
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from '../db/client.ts';
import { withTransaction } from '../db/client.ts';
import { evenlySpaced, MAX_TRAJECTORY_FRAMES } from '../render/index.ts';
import { MAX_INLINE_PREVIEW_BASE64, truncateError, type BusMessage, type EventBus } from './bus.ts';
import type { EnginePort, GenerationParams, RenderPort, StepProgress } from './engine-port.ts';
import { GIF_INDEX, GRID_INDEX, RECONSTRUCTION_INDEX } from './job-service.ts';
import type { FetchedJob, JobQueue } from './queue.ts';
import { reconcileLostRequests } from './reconcile.ts';
import type { Platform, RequestCounters, RequestKind, RequestStatus } from './types.ts';

export interface WorkerOptions {
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
  readonly workerId?: string;
}

export interface WorkerDeps {
  readonly db: Database;
  readonly queue: JobQueue;
  readonly bus: EventBus;
  readonly engine: Pick<EnginePort, 'generateBatch' | 'noiseDemo'>;
  readonly render: RenderPort;
  readonly log: Logger;
  readonly counters?: RequestCounters;
}

interface Claimed {
  readonly job: FetchedJob;
  readonly attempt: number;
  readonly row: ClaimedRow;
}

interface ClaimedRow {
  id: string;
  kind: RequestKind;
  platform: Platform;
  model: string;
  sampler: string | null;
  steps: number | null;
  seed: string;
  count: number;
  options: Record<string, unknown>;
  label: string | null;
  guidance: number | null;
  noise_demo: { timesteps?: number[]; denoiseFrom?: number } | null;
  input_image: Buffer | null;
  record_trajectory: boolean;
  created_at: Date;
  attempts: number;
}

interface EncodedImage {
  readonly index: number;
  readonly contentType: 'image/png' | 'image/gif';
  readonly data: Buffer;
}

class ShutdownAbort extends Error {
  override readonly name = 'ShutdownAbort';
}
class CancelAbort extends Error {
  override readonly name = 'CancelAbort';
}

/** After the grace period, how long a stopping worker keeps retrying database writes (requeue, results). */
const STOP_DB_RETRY_MS = 10_000;
const RECONCILE_INTERVAL_MS = 60_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Worker {
  readonly id: string;
  private stopping = false;
  private readonly loops: Promise<void>[] = [];
  private readonly running = new Map<string, { abort: AbortController; batch: readonly Claimed[]; cancelled: Set<string> }>();
  private wake: (() => void) | null = null;
  private unsubscribe: (() => void) | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;
  /** Set on stop: database retries give up after this, leaving unfinished jobs to lease expiry. */
  private giveUpAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly options: WorkerOptions,
  ) {
    this.id = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  start(): void {
    this.unsubscribe = this.deps.bus.subscribe((m) => this.onBusMessage(m));
    for (let i = 0; i < this.options.concurrency; i++) this.loops.push(this.loop());
    this.reconcileTimer = setInterval(() => {
      reconcileLostRequests(this.deps.db.pool, this.deps.bus, this.deps.counters)
        .then((ids) => ids.length > 0 && this.deps.log.warn({ ids }, 'failed requests whose jobs the queue no longer holds'))
        .catch((err: unknown) => this.deps.log.debug({ err }, 'reconcile failed'));
    }, RECONCILE_INTERVAL_MS);
    this.reconcileTimer.unref();
    this.deps.log.info({ workerId: this.id, batchSize: this.options.batchSize }, 'worker started');
  }

  /**
   * Graceful stop: take no new work; running batches get `shutdownGraceMs` to finish, then are
   * aborted and their requests requeued for another worker.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.giveUpAt = Date.now() + this.options.shutdownGraceMs + STOP_DB_RETRY_MS;
    this.wake?.();
    this.graceTimer = setTimeout(() => {
      for (const r of this.running.values()) r.abort.abort(new ShutdownAbort('worker shutting down'));
    }, this.options.shutdownGraceMs);
    await Promise.all(this.loops);
    clearTimeout(this.graceTimer);
    this.unsubscribe?.();
    this.deps.log.info({ workerId: this.id }, 'worker stopped');
  }

  private onBusMessage(m: BusMessage): void {
    if (m.t === 'queued') this.wake?.();
    if (m.t === 'abort') {
      for (const r of this.running.values()) {
        if (!r.batch.some((c) => c.row.id === m.id)) continue;
        r.cancelled.add(m.id);
        // Abort the engine only when nobody else in the batch still wants their images.
        if (r.batch.every((c) => r.cancelled.has(c.row.id))) r.abort.abort(new CancelAbort('cancelled'));
      }
    }
  }

  private async loop(): Promise<void> {
    let backoff = this.options.pollMs;
    while (!this.stopping) {
      let jobs: FetchedJob[] = [];
      try {
        jobs = await this.takeWork();
        backoff = this.options.pollMs;
      } catch (err) {
        this.deps.log.warn({ err }, 'worker: cannot fetch work (database down?), retrying');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
        continue;
      }
      if (jobs.length === 0) {
        await this.idle();
        continue;
      }
      try {
        await this.runJobs(jobs);
      } catch (err) {
        this.deps.log.error({ err }, 'worker: batch abandoned (its leases will expire and it will run again)');
      }
    }
  }

  private async idle(): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, this.options.pollMs);
      const self = this;
      function done() {
        clearTimeout(t);
        if (self.wake === done) self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  /** Leases a batch from the queue whose oldest unfinished request is oldest (FIFO across batch keys). */
  private async takeWork(): Promise<FetchedJob[]> {
    const { rows } = await this.deps.db.pool.query<{ queue_name: string; kind: string }>(
      `SELECT queue_name, min(kind::text) AS kind FROM requests WHERE status IN ('queued', 'running')
       GROUP BY queue_name ORDER BY min(created_at) LIMIT 20`,
    );
    for (const r of rows) {
      if (this.stopping) return [];
      await this.deps.queue.ensureQueue(r.queue_name);
      const size = r.kind === 'noise_demo' ? 1 : this.options.batchSize;
      const jobs = await this.deps.queue.fetch(r.queue_name, size);
      if (jobs.length > 0) return jobs;
    }
    return [];
  }

  private async runJobs(jobs: FetchedJob[]): Promise<void> {
    const claimed: Claimed[] = [];
    const skip: FetchedJob[] = [];
    const batchId = randomUUID();
    for (const job of jobs) {
      const c = await this.retryDb(() => this.claim(job, batchId), `claim ${job.requestId}`);
      if (c) claimed.push(c);
      else skip.push(job);
    }
    // Jobs whose request is already final (finished by an earlier attempt, cancelled, given up): just close the lease.
    if (skip.length > 0) {
      await this.retryDb(() => this.deps.queue.complete(skip[0]!.queue, skip.map((j) => j.id)), 'complete skipped jobs').catch(() => undefined);
    }
    if (claimed.length === 0) return;
    const abort = new AbortController();
    const entry = { abort, batch: claimed, cancelled: new Set<string>() };
    this.running.set(batchId, entry);
    try {
      await this.runClaimed(claimed, abort, entry.cancelled);
    } finally {
      this.running.delete(batchId);
    }
  }

  /** Starts an attempt on the request; null when it should not run (already final, cancelled, or out of attempts). */
  private async claim(job: FetchedJob, batchId: string): Promise<Claimed | null> {
    return withTransaction(this.deps.db.pool, async (client) => {
      const { rows } = await client.query<ClaimedRow>(
        `UPDATE requests SET status = 'running', attempts = attempts + 1, worker_id = $2,
           started_at = coalesce(started_at, now()),
           queue_ms = coalesce(queue_ms, (extract(epoch FROM now() - created_at) * 1000)::int),
           progress_step = NULL, progress_total = NULL
         WHERE id = $1 AND status IN ('queued', 'running') AND NOT cancel_requested
         RETURNING id, kind::text AS kind, platform::text AS platform, model, sampler, steps, seed::text AS seed, count, options, label, guidance,
           noise_demo, input_image, record_trajectory, created_at, attempts`,
        [job.requestId, this.id],
      );
      const row = rows[0];
      if (!row) {
        await this.cancelIfRequested(client, job.requestId);
        return null;
      }
      // Earlier attempts still open were lost (worker killed, lease expired).
      await client.query(
        `UPDATE request_attempts SET outcome = 'expired', finished_at = now() WHERE request_id = $1 AND outcome IS NULL`,
        [row.id],
      );
      await client.query(`INSERT INTO request_attempts (request_id, attempt, worker_id, batch_id) VALUES ($1, $2, $3, $4)`, [row.id, row.attempts, this.id, batchId]);
      if (row.attempts > this.options.retryLimit + 1) {
        const error = `gave up after ${row.attempts - 1} attempts`;
        await client.query(`UPDATE requests SET status = 'failed', error = $2, finished_at = now(),
            total_ms = (extract(epoch FROM now() - created_at) * 1000)::int WHERE id = $1`, [row.id, error]);
        await client.query(`UPDATE request_attempts SET outcome = 'failed', error = $3, finished_at = now() WHERE request_id = $1 AND attempt = $2`, [row.id, row.attempts, error]);
        this.publish({ t: 'failed', id: row.id, p: row.platform, e: error });
        this.finished(row, 'failed');
        return null;
      }
      this.publish({ t: 'running', id: row.id, p: row.platform, a: row.attempts });
      return { job, attempt: row.attempts, row };
    });
  }

  /** A running request whose cancel arrived while no worker held it. */
  private async cancelIfRequested(client: pg.PoolClient, id: string): Promise<void> {
    const { rows } = await client.query<{ platform: Platform; kind: RequestKind }>(
      `UPDATE requests SET status = 'cancelled', finished_at = now(), error = 'cancelled by the requester'
       WHERE id = $1 AND status = 'running' AND cancel_requested RETURNING platform::text AS platform, kind::text AS kind`,
      [id],
    );
    if (rows[0]) {
      this.publish({ t: 'cancelled', id, p: rows[0].platform });
      this.finished(rows[0], 'cancelled');
    }
  }

  private async runClaimed(claimed: readonly Claimed[], abort: AbortController, cancelled: Set<string>): Promise<void> {
    const started = Date.now();
    let outputs: EncodedImage[][];
    try {
      outputs = await this.execute(claimed, abort.signal);
    } catch (err) {
      const reason: unknown = abort.signal.aborted ? abort.signal.reason : err;
      if (reason instanceof ShutdownAbort) {
        await this.requeue(claimed, 'worker shut down before finishing');
      } else if (reason instanceof CancelAbort) {
        for (const c of claimed) await this.retryDb(() => this.finishCancelled(c), `cancel ${c.row.id}`);
        await this.completeJobs(claimed);
      } else {
        const message = err instanceof Error ? err.message : String(err);
        this.deps.log.error({ err, requests: claimed.map((c) => c.row.id) }, 'generation failed');
        // Engine errors are deterministic for these parameters; retrying would fail again.
        for (const c of claimed) await this.retryDb(() => this.finishFailed(c, message), `fail ${c.row.id}`);
        await this.completeJobs(claimed);
      }
      return;
    }
    const samplingMs = Date.now() - started;
    for (let i = 0; i < claimed.length; i++) {
      const c = claimed[i]!;
      if (cancelled.has(c.row.id)) await this.retryDb(() => this.finishCancelled(c), `cancel ${c.row.id}`);
      else await this.retryDb(() => this.finishSucceeded(c, outputs[i]!, samplingMs), `complete ${c.row.id}`);
    }
    await this.completeJobs(claimed);
  }

  private async execute(claimed: readonly Claimed[], signal: AbortSignal): Promise<EncodedImage[][]> {
    const first = claimed[0]!;
    if (first.row.kind === 'noise_demo') {
      // Noise-demo queues are fetched one job at a time.
      const nd = first.row.noise_demo ?? {};
      const result = await this.deps.engine.noiseDemo({
        model: first.row.model,
        seed: Number(first.row.seed),
        ...(first.row.input_image ? { image: new Uint8Array(first.row.input_image) } : {}),
        ...(nd.timesteps ? { timesteps: nd.timesteps } : {}),
        ...(nd.denoiseFrom !== undefined ? { denoiseFrom: nd.denoiseFrom } : {}),
      });
      const images: EncodedImage[] = [
        { index: 0, contentType: 'image/png', data: result.sourcePng },
        { index: GRID_INDEX, contentType: 'image/png', data: result.gridPng },
        { index: GIF_INDEX, contentType: 'image/gif', data: result.gif },
      ];
      if (result.reconstructionPng) images.push({ index: RECONSTRUCTION_INDEX, contentType: 'image/png', data: result.reconstructionPng });
      return [images];
    }
    const params: GenerationParams[] = claimed.map((c) => ({
      model: c.row.model,
      sampler: c.row.sampler ?? '',
      steps: c.row.steps ?? 0,
      seed: Number(c.row.seed),
      count: c.row.count,
      options: c.row.options,
      label: c.row.label,
      guidance: c.row.guidance,
    }));
    const progress = claimed.map((c) => new ProgressReporter(c, this.deps, this.options));
    const trajectories = claimed.map((c) => (c.row.record_trajectory ? new TrajectoryRecorder(this.deps.render) : null));
    const results = await this.deps.engine.generateBatch(
      params,
      (i, p) => {
        progress[i]?.report(p);
        trajectories[i]?.record(p);
      },
      signal,
    );
    await Promise.all(progress.map((p) => p.flush()));
    const out: EncodedImage[][] = [];
    for (let i = 0; i < results.length; i++) {
      const images = results[i]!.images;
      const count = params[i]!.count;
      const encoded: EncodedImage[] = [];
      for (let k = 0; k < count; k++) encoded.push({ index: k, contentType: 'image/png', data: await this.deps.render.imagePng(images, k) });
      if (count > 1) encoded.push({ index: GRID_INDEX, contentType: 'image/png', data: await this.deps.render.batchPng(images) });
      const trajectory = trajectories[i];
      if (trajectory) encoded.push({ index: GIF_INDEX, contentType: 'image/gif', data: await trajectory.gif(encoded[0]!.data) });
      out.push(encoded);
    }
    return out;
  }

  /** Commits images and success iff this attempt still owns the request. */
  private async finishSucceeded(c: Claimed, images: readonly EncodedImage[], samplingMs: number): Promise<void> {
    const won = await withTransaction(this.deps.db.pool, async (client) => {
      const res = await client.query(
        `UPDATE requests SET status = 'succeeded', finished_at = now(), sampling_ms = $3, preview_png = NULL,
           progress_step = progress_total,
           total_ms = (extract(epoch FROM now() - created_at) * 1000)::int
         WHERE id = $1 AND status = 'running' AND attempts = $2`,
        [c.row.id, c.attempt, samplingMs],
      );
      if (res.rowCount !== 1) return false;
      for (const img of images) {
        await client.query(
          `INSERT INTO request_images (request_id, index, content_type, data, bytes, sha256) VALUES ($1, $2, $3, $4, $5, $6)`,
          [c.row.id, img.index, img.contentType, img.data, img.data.length, createHash('sha256').update(img.data).digest('hex')],
        );
      }
      await this.closeAttempt(client, c, 'succeeded', null);
      return true;
    });
    if (won) {
      this.finished(c.row, 'succeeded');
      await this.publishFinal({ t: 'succeeded', id: c.row.id, p: c.row.platform });
    } else await this.markSuperseded(c);
  }

  private async finishFailed(c: Claimed, message: string): Promise<void> {
    const error = truncateError(message);
    const won = await withTransaction(this.deps.db.pool, async (client) => {
      const res = await client.query(
        `UPDATE requests SET status = 'failed', finished_at = now(), error = $3,
           total_ms = (extract(epoch FROM now() - created_at) * 1000)::int
         WHERE id = $1 AND status = 'running' AND attempts = $2`,
        [c.row.id, c.attempt, error],
      );
      if (res.rowCount !== 1) return false;
      await this.closeAttempt(client, c, 'failed', error);
      return true;
    });
    if (won) {
      this.finished(c.row, 'failed');
      await this.publishFinal({ t: 'failed', id: c.row.id, p: c.row.platform, e: error });
    } else await this.markSuperseded(c);
  }

  private async finishCancelled(c: Claimed): Promise<void> {
    const won = await withTransaction(this.deps.db.pool, async (client) => {
      const res = await client.query(
        `UPDATE requests SET status = 'cancelled', finished_at = now(), error = 'cancelled by the requester',
           total_ms = (extract(epoch FROM now() - created_at) * 1000)::int
         WHERE id = $1 AND status = 'running' AND attempts = $2`,
        [c.row.id, c.attempt],
      );
      if (res.rowCount !== 1) return false;
      await this.closeAttempt(client, c, 'cancelled', null);
      return true;
    });
    if (won) {
      this.finished(c.row, 'cancelled');
      await this.publishFinal({ t: 'cancelled', id: c.row.id, p: c.row.platform });
    }
  }

  /** Graceful shutdown: hand the requests back (status queued) and fail the leases so pg-boss re-offers them now. */
  private async requeue(claimed: readonly Claimed[], reason: string): Promise<void> {
    for (const c of claimed) {
      await this.retryDb(
        () =>
          withTransaction(this.deps.db.pool, async (client) => {
            const res = await client.query(`UPDATE requests SET status = 'queued', progress_step = NULL, progress_total = NULL, preview_png = NULL WHERE id = $1 AND status = 'running' AND attempts = $2`, [c.row.id, c.attempt]);
            if (res.rowCount === 1) await this.closeAttempt(client, c, 'requeued', reason);
          }),
        `requeue ${c.row.id}`,
      ).catch(() => undefined);
    }
    await this.retryDb(() => this.deps.queue.fail(claimed[0]!.job.queue, claimed.map((c) => c.job.id), reason), 'fail leases').catch(() => undefined);
    for (const c of claimed) this.publish({ t: 'queued', id: c.row.id, p: c.row.platform, pos: 1, q: c.job.queue });
  }

  private async closeAttempt(client: pg.PoolClient, c: Claimed, outcome: string, error: string | null): Promise<void> {
    await client.query(`UPDATE request_attempts SET outcome = $3, error = $4, finished_at = now() WHERE request_id = $1 AND attempt = $2`, [c.row.id, c.attempt, outcome, error]);
  }

  private async markSuperseded(c: Claimed): Promise<void> {
    this.deps.log.warn({ id: c.row.id, attempt: c.attempt }, 'result discarded: a later attempt owns this request');
    await this.deps.db.pool
      .query(`UPDATE request_attempts SET outcome = 'superseded', finished_at = now() WHERE request_id = $1 AND attempt = $2 AND outcome IS NULL`, [c.row.id, c.attempt])
      .catch(() => undefined);
  }

  private async completeJobs(claimed: readonly Claimed[]): Promise<void> {
    await this.retryDb(() => this.deps.queue.complete(claimed[0]!.job.queue, claimed.map((c) => c.job.id)), 'complete jobs').catch((err: unknown) =>
      // The row is final, so a re-offered job will be skipped; nothing is lost.
      this.deps.log.warn({ err }, 'could not complete jobs'),
    );
  }

  private finished(row: { platform: Platform; kind: RequestKind }, status: RequestStatus): void {
    this.deps.counters?.requestFinished(row.platform, row.kind, status);
  }

  /**
   * Final events are retried like database writes: the row is already final, and a NOTIFY lost on a
   * connection broken by a restart would leave a watcher waiting. A duplicate is harmless (watchers
   * drop events after the final one; replies go through claimDelivery).
   */
  private async publishFinal(message: BusMessage): Promise<void> {
    await this.retryDb(() => this.deps.bus.publish(message), `publish ${message.t} ${message.id}`).catch((err: unknown) =>
      this.deps.log.warn({ err, id: message.id }, 'could not publish final event; watchers will find it when they re-read'),
    );
  }

  private publish(message: BusMessage): void {
    this.deps.bus.publish(message).catch((err: unknown) => this.deps.log.debug({ err }, 'could not publish event'));
  }

  /**
   * Retries a database write through outages (Postgres restarting) so finished work is not thrown
   * away. Gives up after 10 minutes, or soon after a stop: the lease then expires and another
   * worker runs the request again, so giving up loses time, never a request.
   */
  private async retryDb<T>(fn: () => Promise<T>, what: string): Promise<T> {
    const deadline = Date.now() + 10 * 60_000;
    let delay = 200;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (Date.now() > Math.min(deadline, this.giveUpAt)) throw err;
        this.deps.log.warn({ err, what }, 'database write failed, retrying');
        await sleep(delay);
        delay = Math.min(delay * 2, 5000);
      }
    }
  }
}

/** Throttled progress: a row update (step, preview) plus a small NOTIFY, at most every `progressMinIntervalMs`. */
/**
 * The frames of a request's denoising animation: its first image's predicted x_0 at evenly spaced
 * steps, taken from every step's progress (not from the throttled previews, which a fast job barely has).
 * The last step is left out: its prediction is the final image, which closes the animation anyway.
 */
class TrajectoryRecorder {
  private picks: ReadonlySet<number> | null = null;
  private readonly frames: Promise<Buffer>[] = [];

  constructor(private readonly render: RenderPort) {}

  record(p: StepProgress): void {
    this.picks ??= new Set(evenlySpaced(Array.from({ length: p.totalSteps - 1 }, (_, i) => i + 1), MAX_TRAJECTORY_FRAMES - 1));
    if (this.picks.has(p.step)) this.frames.push(this.render.imagePng(p.predictedX0, 0));
  }

  async gif(finalPng: Buffer): Promise<Buffer> {
    return this.render.trajectoryGif(await Promise.all(this.frames), finalPng);
  }
}

class ProgressReporter {
  private lastAt = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly c: Claimed,
    private readonly deps: WorkerDeps,
    private readonly options: WorkerOptions,
  ) {}

  report(p: StepProgress): void {
    const now = Date.now();
    if (p.step < p.totalSteps && now - this.lastAt < this.options.progressMinIntervalMs) return;
    this.lastAt = now;
    this.chain = this.chain.then(() => this.send(p)).catch((err: unknown) => this.deps.log.debug({ err }, 'progress update failed'));
  }

  private async send(p: StepProgress): Promise<void> {
    let png: Buffer | null = null;
    // The first image of the request stands for it in previews (chat edits show one picture).
    if (this.options.previews) png = await this.deps.render.imagePng(p.predictedX0, 0);
    const base64 = png ? png.toString('base64') : null;
    const inline = base64 !== null && base64.length <= MAX_INLINE_PREVIEW_BASE64;
    await this.deps.db.pool.query(
      `UPDATE requests SET progress_step = $3, progress_total = $4, preview_png = coalesce($5, preview_png) WHERE id = $1 AND attempts = $2 AND status = 'running'`,
      [this.c.row.id, this.c.attempt, p.step, p.totalSteps, png],
    );
    const message: BusMessage = {
      t: 'progress',
      id: this.c.row.id,
      p: this.c.row.platform,
      s: p.step,
      n: p.totalSteps,
      ...(inline ? { png: base64 } : png ? { row: 1 as const } : {}),
    };
    await this.deps.bus.publish(message);
  }

  async flush(): Promise<void> {
    await this.chain;
  }
}
