/**
 * The queue is the requests table. A worker claims the oldest claimable row and up to B-1 more of
 * the same batch key with SELECT ... FOR UPDATE SKIP LOCKED, so concurrent workers never wait on or
 * double-claim a row; a claim sets a lease (`lease_expires_at`) the worker's heartbeat renews while
 * the batch runs, and a row whose lease has passed is claimable again. Every claim increments
 * `attempts` and every write of a result names that attempt, so a worker that lost its lease can
 * never overwrite or duplicate a later attempt. All of it goes through Prisma: `$queryRaw` single
 * statements on the hot path (claim, progress, finish: one round trip per batch each, and measured at a
 * quarter to a half of the CPU of the typed-CRUD equivalents on the development machine), typed CRUD
 * for the rare writes.
 */
import { createHash } from 'node:crypto';
import type { Prisma as PrismaClient } from './client.ts';

export type Platform = 'discord' | 'slack' | 'web' | 'cli';
export type RequestKind = 'generate' | 'noise_demo' | 'vary' | 'interpolate' | 'invert';

/** What a worker needs to run a claimed request. */
export interface ClaimedRow {
  readonly id: string;
  readonly kind: RequestKind;
  readonly platform: Platform;
  readonly model: string;
  readonly sampler: string | null;
  readonly steps: number | null;
  readonly seed: string;
  readonly count: number;
  readonly options: Record<string, unknown>;
  readonly label: string | null;
  readonly guidance: number | null;
  readonly noise_demo: { timesteps?: number[]; denoiseFrom?: number } | null;
  /** Variation, interpolation or inversion parameters, as src/jobs/edits.ts stores them. */
  readonly edit: unknown;
  readonly input_image: Uint8Array | null;
  readonly record_trajectory: boolean;
  readonly attempts: number;
}

/** A request that reached a final state inside a claim (cancelled while unowned, out of attempts). */
export interface EndedRow {
  readonly id: string;
  readonly platform: Platform;
  readonly kind: RequestKind;
  readonly error: string;
}

export interface Claim {
  /** Rows to run now, one batch key, oldest first; each is running under a fresh attempt. */
  readonly run: readonly ClaimedRow[];
  /** Rows failed for having used up their attempts (crash loops). */
  readonly gaveUp: readonly EndedRow[];
  /** Rows whose cancel arrived while their worker was gone. */
  readonly cancelled: readonly EndedRow[];
  /** The `running` event of each row of `run` (JSON), sent on the options' channel when it has one. */
  readonly running: readonly string[];
}

export interface ClaimOptions {
  readonly workerId: string;
  readonly batchId: string;
  /** Most rows of one batch key to run together (only generations share a batch; other kinds run alone). */
  readonly batchSize: number;
  readonly leaseSeconds: number;
  /** A claim beyond 1 + retryLimit attempts fails the request instead of running it again. */
  readonly retryLimit: number;
  /** Where the claim announces each row it runs (a `running` event); null: only returned, in `running`. */
  readonly channel: string | null;
}

export const CANCELLED_ERROR = 'cancelled by the requester';

/**
 * Claims in one statement (one round trip, also for the idle poll that finds nothing): the oldest
 * claimable row (queued, or running under a lease that has passed), up to `batchSize - 1` more of
 * its batch key, a new attempt on each with its log entry, any open earlier attempt closed as
 * `expired` (its worker died, froze or lost the database), and a `running` event for each row it
 * runs. Rows over the retry limit, and rows whose cancel arrived while their worker was gone, are
 * ended here instead of being run.
 */
export async function claimBatch(prisma: PrismaClient, o: ClaimOptions): Promise<Claim> {
  const more = o.batchSize - 1;
  const claimed = await prisma.$queryRaw<(ClaimedRow & { cancel_requested: boolean; running_event: string | null })[]>`
    WITH head AS (
      SELECT id, batch_key, kind FROM requests
      WHERE status = 'queued' OR (status = 'running' AND lease_expires_at < now())
      ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
    ), siblings AS (
      SELECT r.id FROM requests r JOIN head h ON r.batch_key = h.batch_key AND r.id <> h.id
      WHERE h.kind = 'generate' AND (r.status = 'queued' OR (r.status = 'running' AND r.lease_expires_at < now()))
      ORDER BY r.created_at, r.id LIMIT ${more} FOR UPDATE OF r SKIP LOCKED
    ), claimed AS (
      UPDATE requests SET status = 'running', attempts = attempts + 1, worker_id = ${o.workerId},
        lease_expires_at = now() + make_interval(secs => ${o.leaseSeconds}::float8),
        started_at = coalesce(started_at, now()),
        queue_ms = coalesce(queue_ms, (extract(epoch FROM now() - created_at) * 1000)::int),
        progress_step = NULL, progress_total = NULL
      WHERE id IN (SELECT id FROM head UNION ALL SELECT id FROM siblings)
      RETURNING requests.*
    ), lost AS (
      UPDATE request_attempts a SET outcome = 'expired', finished_at = now()
      FROM claimed c WHERE a.request_id = c.id AND a.outcome IS NULL
    ), opened AS (
      INSERT INTO request_attempts (request_id, attempt, worker_id, batch_id)
      SELECT id, attempts, ${o.workerId}, ${o.batchId}::uuid FROM claimed
    ), running AS (
      -- The BusMessage 'running' of src/jobs/bus.ts.
      SELECT id, json_build_object('t', 'running', 'id', id, 'p', platform, 'a', attempts)::text AS event FROM claimed
      WHERE NOT cancel_requested AND attempts <= ${o.retryLimit + 1}
    ), notified AS (
      SELECT pg_notify(${o.channel}, event) FROM running WHERE ${o.channel}::text IS NOT NULL
    )
    SELECT c.id::text, c.kind::text AS kind, c.platform::text AS platform, c.model, c.sampler, c.steps, c.seed::text AS seed, c.count,
      c.options, c.label, c.guidance, c.noise_demo, c.edit, c.input_image, c.record_trajectory, c.attempts, c.cancel_requested,
      r.event AS running_event
    FROM claimed c LEFT JOIN running r ON r.id = c.id
    WHERE (SELECT count(*) FROM notified) >= 0
    ORDER BY c.created_at, c.id`;
  const run: ClaimedRow[] = [];
  const running: string[] = [];
  const toEnd: (AttemptEnd & { row: ClaimedRow })[] = [];
  for (const { cancel_requested, running_event, ...row } of claimed) {
    if (cancel_requested) toEnd.push({ row, id: row.id, attempt: row.attempts, outcome: { status: 'cancelled' } });
    else if (row.attempts > o.retryLimit + 1) {
      toEnd.push({ row, id: row.id, attempt: row.attempts, outcome: { status: 'failed', error: `gave up after ${row.attempts - 1} attempts` } });
    } else {
      run.push(row);
      running.push(running_event!);
    }
  }
  const won = toEnd.length > 0 ? await finishAttempts(prisma, toEnd) : new Set<string>();
  const gaveUp: EndedRow[] = [];
  const cancelled: EndedRow[] = [];
  for (const { row, outcome } of toEnd) {
    if (!won.has(row.id)) continue;
    if (outcome.status === 'failed') gaveUp.push({ ...ended(row), error: outcome.error });
    else cancelled.push({ ...ended(row), error: CANCELLED_ERROR });
  }
  return { run, gaveUp, cancelled, running };
}

function ended(row: ClaimedRow): Omit<EndedRow, 'error'> {
  return { id: row.id, platform: row.platform, kind: row.kind };
}

/**
 * Renews the leases `workerId` still holds on `ids` (a heartbeat); returns the ids renewed. A row
 * another worker claimed after this one's lease passed is not renewed: it is that worker's now.
 */
export async function renewLeases(prisma: PrismaClient, workerId: string, ids: readonly string[], leaseSeconds: number): Promise<string[]> {
  const rows = await prisma.$queryRaw<{ id: string }[]>`
    UPDATE requests SET lease_expires_at = now() + make_interval(secs => ${leaseSeconds}::float8)
    WHERE id = ANY(${[...ids]}::uuid[]) AND status = 'running' AND worker_id = ${workerId}
    RETURNING id::text`;
  return rows.map((r) => r.id);
}

/**
 * Ends every lease not held by `workerId`, so those rows are claimable now. Only safe where no
 * other worker can be alive: the embedded database, which one process owns.
 */
export async function expireOtherLeases(prisma: PrismaClient, workerId: string): Promise<number> {
  const res = await prisma.request.updateMany({
    where: { status: 'running', NOT: { workerId } },
    data: { leaseExpiresAt: new Date(0) },
  });
  return res.count;
}

export interface ImageRow {
  readonly index: number;
  readonly contentType: 'image/png' | 'image/gif';
  readonly data: Buffer;
}

/** An image as stored: with the SHA-256 (hex) of its bytes, computed once for the row and the event that announces it. */
export interface StoredImage extends ImageRow {
  readonly sha256: string;
}

export function storedImage(image: ImageRow): StoredImage {
  return { ...image, sha256: createHash('sha256').update(image.data).digest('hex') };
}

/** What one request of a run keeps: its images and, for kinds that measure something (inversion's PSNR), the result. */
export interface RunOutput {
  readonly images: readonly ImageRow[];
  readonly result?: Record<string, unknown>;
}

/** How an attempt ends; `queued` hands the request back (graceful shutdown) for the next claim. */
export type Outcome =
  | ({ readonly status: 'succeeded'; readonly samplingMs: number } & RunOutput)
  | { readonly status: 'failed'; readonly error: string }
  | { readonly status: 'cancelled' }
  | { readonly status: 'queued'; readonly reason: string };

/** An outcome as written: a success's images with their digests. */
export type StoredOutcome = Exclude<Outcome, { status: 'succeeded' }> | (Omit<Extract<Outcome, { status: 'succeeded' }>, 'images'> & { readonly images: readonly StoredImage[] });

/** One attempt's end: the request, the attempt that ends, how, and the event (JSON) that announces it. */
export interface AttemptEnd {
  readonly id: string;
  readonly attempt: number;
  readonly outcome: StoredOutcome;
  readonly event?: string;
}

/**
 * Ends several attempts (a batch's) in one statement, so it is atomic without a transaction and
 * one round trip however large the batch: each row changes only if it is still running its
 * `attempt`, and only then are its images (on success), its attempt's log entry and its event (on
 * `channel`, sent at commit) written with it. Returns the ids whose attempt still owned the request;
 * for the others a later attempt owns it and nothing of theirs was written or announced.
 */
export async function finishAttempts(prisma: PrismaClient, ends: readonly AttemptEnd[], channel: string | null = null): Promise<Set<string>> {
  const column = <T>(f: (e: AttemptEnd) => T): T[] => ends.map(f);
  const errorOf = ({ outcome: o }: AttemptEnd) => (o.status === 'failed' ? o.error : o.status === 'cancelled' ? CANCELLED_ERROR : null);
  const images = ends.flatMap((e) => (e.outcome.status === 'succeeded' ? e.outcome.images.map((img) => ({ id: e.id, ...img })) : []));
  const rows = await prisma.$queryRaw<{ id: string }[]>`
    WITH input AS (
      SELECT * FROM unnest(${column((e) => e.id)}::uuid[], ${column((e) => e.attempt)}::int[], ${column((e) => e.outcome.status)}::text[],
        ${column(errorOf)}::text[], ${column((e) => (e.outcome.status === 'succeeded' ? e.outcome.samplingMs : null))}::int[],
        ${column((e) => (e.outcome.status === 'queued' ? e.outcome.reason : null))}::text[],
        ${column((e) => (e.outcome.status === 'succeeded' && e.outcome.result ? JSON.stringify(e.outcome.result) : null))}::jsonb[],
        ${column((e) => e.event ?? null)}::text[])
        AS i(id, attempt, status, error, sampling_ms, requeue_reason, result, event)
    ), done AS (
      UPDATE requests r SET status = i.status::"RequestStatus", lease_expires_at = NULL, preview_png = NULL,
        error = i.error, sampling_ms = i.sampling_ms, result = i.result,
        progress_step = CASE i.status WHEN 'succeeded' THEN r.progress_total WHEN 'queued' THEN NULL ELSE r.progress_step END,
        progress_total = CASE WHEN i.status <> 'queued' THEN r.progress_total END,
        finished_at = CASE WHEN i.status <> 'queued' THEN now() END,
        total_ms = CASE WHEN i.status <> 'queued' THEN (extract(epoch FROM now() - r.created_at) * 1000)::int END
      FROM input i
      WHERE r.id = i.id AND r.status = 'running' AND r.attempts = i.attempt
      RETURNING r.id
    ), images AS (
      INSERT INTO request_images (request_id, index, content_type, data, bytes, sha256)
      SELECT m.request_id, m.index, m.content_type, m.data, length(m.data), m.sha256
      FROM unnest(${images.map((img) => img.id)}::uuid[], ${images.map((img) => img.index)}::int[], ${images.map((img) => img.contentType)}::text[],
        ${images.map((img) => img.data)}::bytea[], ${images.map((img) => img.sha256)}::text[])
        AS m(request_id, index, content_type, data, sha256)
      WHERE m.request_id IN (SELECT id FROM done)
    ), logged AS (
      UPDATE request_attempts a SET outcome = CASE i.status WHEN 'queued' THEN 'requeued' ELSE i.status END,
        error = coalesce(i.requeue_reason, i.error), finished_at = now()
      FROM input i
      WHERE a.request_id = i.id AND a.attempt = i.attempt AND i.id IN (SELECT id FROM done)
    ), notified AS (
      SELECT pg_notify(${channel}, i.event) FROM input i
      WHERE ${channel}::text IS NOT NULL AND i.event IS NOT NULL AND i.id IN (SELECT id FROM done)
    )
    SELECT id::text FROM done WHERE (SELECT count(*) FROM notified) >= 0`;
  return new Set(rows.map((r) => r.id));
}

/** Records that `attempt`'s result was discarded because a later attempt owns the request. */
export async function markSuperseded(prisma: PrismaClient, id: string, attempt: number): Promise<void> {
  await prisma.requestAttempt.updateMany({ where: { requestId: id, attempt, outcome: null }, data: { outcome: 'superseded', finishedAt: new Date() } });
}

/** A running attempt's progress at one step. */
export interface ProgressRecord {
  readonly id: string;
  readonly attempt: number;
  readonly step: number;
  readonly total: number;
  /** Stored for readers to fetch (a preview too large for the event); null leaves the row's preview as it is. */
  readonly previewPng: Buffer | null;
  /** Its `progress` event (JSON). */
  readonly event: string;
}

/**
 * Stores a batch's progress and sends its events on `channel` (at commit) in one statement; a row
 * whose attempt no longer owns it is left alone and not announced. `$executeRaw`: pg_notify returns
 * void, a column type Prisma's driver adapter cannot read back.
 */
export async function recordProgress(prisma: PrismaClient, records: readonly ProgressRecord[], channel: string | null): Promise<void> {
  await prisma.$executeRaw`
    WITH p AS (
      SELECT * FROM unnest(${records.map((p) => p.id)}::uuid[], ${records.map((p) => p.attempt)}::int[], ${records.map((p) => p.step)}::int[],
        ${records.map((p) => p.total)}::int[], ${records.map((p) => p.previewPng)}::bytea[], ${records.map((p) => p.event)}::text[])
        AS p(id, attempt, step, total, preview_png, event)
    ), updated AS (
      UPDATE requests r SET progress_step = p.step, progress_total = p.total, preview_png = coalesce(p.preview_png, r.preview_png)
      FROM p WHERE r.id = p.id AND r.attempts = p.attempt AND r.status = 'running'
      RETURNING r.id
    )
    SELECT pg_notify(${channel}, p.event) FROM p WHERE ${channel}::text IS NOT NULL AND p.id IN (SELECT id FROM updated)`;
}
