/**
 * The queue is the requests table. A worker claims the oldest claimable row and up to B-1 more of
 * the same batch key with SELECT ... FOR UPDATE SKIP LOCKED, so concurrent workers never wait on or
 * double-claim a row; a claim sets a lease (`lease_expires_at`) the worker's heartbeat renews while
 * the batch runs, and a row whose lease has passed is claimable again. Every claim increments
 * `attempts` and every write of a result names that attempt, so a worker that lost its lease can
 * never overwrite or duplicate a later attempt. All of it is Prisma: typed CRUD where it fits,
 * `$queryRaw` for the locking statements Prisma's query API cannot express.
 */
import { createHash } from 'node:crypto';
import { TX_OPTIONS as TX, type Prisma as PrismaClient } from './client.ts';
import { Prisma } from './generated/client.ts';

type Tx = Prisma.TransactionClient;

export type Platform = 'discord' | 'slack' | 'web' | 'cli';
export type RequestKind = 'generate' | 'noise_demo';

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
  /** Running rows whose cancel arrived while their worker was gone. */
  readonly cancelled: readonly EndedRow[];
}

export interface ClaimOptions {
  readonly workerId: string;
  readonly batchId: string;
  /** Most rows of one batch key to run together (noise demos always run alone). */
  readonly batchSize: number;
  readonly leaseSeconds: number;
  /** A claim beyond 1 + retryLimit attempts fails the request instead of running it again. */
  readonly retryLimit: number;
}

export const CANCELLED_ERROR = 'cancelled by the requester';

/** Queued, or running under a lease that has passed (its worker died, froze or lost the database). */
const CLAIMABLE = Prisma.sql`(status = 'queued' OR (status = 'running' AND lease_expires_at < now()))`;

export async function claimBatch(prisma: PrismaClient, o: ClaimOptions): Promise<Claim> {
  return prisma.$transaction(async (tx) => {
    const cancelled = await endCancelledOrphans(tx);
    const head = await tx.$queryRaw<{ id: string; batch_key: string; kind: RequestKind }[]>`
      SELECT id::text, batch_key, kind::text AS kind FROM requests WHERE ${CLAIMABLE}
      ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`;
    const first = head[0];
    if (!first) return { run: [], gaveUp: [], cancelled };
    const ids = [first.id];
    const more = first.kind === 'noise_demo' ? 0 : o.batchSize - 1;
    if (more > 0) {
      const siblings = await tx.$queryRaw<{ id: string }[]>`
        SELECT id::text FROM requests WHERE batch_key = ${first.batch_key} AND id <> ${first.id}::uuid AND ${CLAIMABLE}
        ORDER BY created_at, id LIMIT ${more} FOR UPDATE SKIP LOCKED`;
      ids.push(...siblings.map((s) => s.id));
    }
    const claimed = await tx.$queryRaw<ClaimedRow[]>`
      UPDATE requests SET status = 'running', attempts = attempts + 1, worker_id = ${o.workerId},
        lease_expires_at = now() + make_interval(secs => ${o.leaseSeconds}::float8),
        started_at = coalesce(started_at, now()),
        queue_ms = coalesce(queue_ms, (extract(epoch FROM now() - created_at) * 1000)::int),
        progress_step = NULL, progress_total = NULL
      WHERE id = ANY(${ids}::uuid[])
      RETURNING id::text, kind::text AS kind, platform::text AS platform, model, sampler, steps, seed::text AS seed, count,
        options, label, guidance, noise_demo, input_image, record_trajectory, attempts`;
    // Earlier attempts still open were lost (worker killed, frozen or cut off; its lease passed).
    await tx.requestAttempt.updateMany({ where: { requestId: { in: ids }, outcome: null }, data: { outcome: 'expired', finishedAt: new Date() } });
    await tx.requestAttempt.createMany({ data: claimed.map((r) => ({ requestId: r.id, attempt: r.attempts, workerId: o.workerId, batchId: o.batchId })) });
    const gaveUp: EndedRow[] = [];
    for (const r of claimed.filter((c) => c.attempts > o.retryLimit + 1)) {
      const error = `gave up after ${r.attempts - 1} attempts`;
      await endRequest(tx, r.id, r.attempts, { status: 'failed', error });
      gaveUp.push({ id: r.id, platform: r.platform, kind: r.kind, error });
    }
    const run = claimed.filter((c) => c.attempts <= o.retryLimit + 1).sort((a, b) => ids.indexOf(a.id) - ids.indexOf(b.id));
    return { run, gaveUp, cancelled };
  }, TX);
}

/** Running rows with a cancel request and a passed lease: nobody will run them, so they end as cancelled. */
async function endCancelledOrphans(tx: Tx): Promise<EndedRow[]> {
  const rows = await tx.$queryRaw<{ id: string; platform: Platform; kind: RequestKind; attempts: number }[]>`
    SELECT id::text, platform::text AS platform, kind::text AS kind, attempts FROM requests
    WHERE status = 'running' AND cancel_requested AND lease_expires_at < now() FOR UPDATE SKIP LOCKED`;
  for (const r of rows) await endRequest(tx, r.id, r.attempts, { status: 'cancelled' });
  return rows.map((r) => ({ id: r.id, platform: r.platform, kind: r.kind, error: CANCELLED_ERROR }));
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

/** How an attempt ends; `queued` hands the request back (graceful shutdown) for the next claim. */
export type Outcome =
  | { readonly status: 'succeeded'; readonly images: readonly ImageRow[]; readonly samplingMs: number }
  | { readonly status: 'failed'; readonly error: string }
  | { readonly status: 'cancelled' }
  | { readonly status: 'queued'; readonly reason: string };

/**
 * One transaction for every outcome: the row changes only if it is still running `attempt`, and then
 * its images (on success) and the attempt's log entry are written with it. False: a later attempt
 * owns the request, nothing was written.
 */
export async function finishAttempt(prisma: PrismaClient, id: string, attempt: number, outcome: Outcome): Promise<boolean> {
  return prisma.$transaction((tx) => endRequest(tx, id, attempt, outcome), TX);
}

async function endRequest(tx: Tx, id: string, attempt: number, outcome: Outcome): Promise<boolean> {
  const final = outcome.status !== 'queued';
  const error = outcome.status === 'failed' ? outcome.error : outcome.status === 'cancelled' ? CANCELLED_ERROR : null;
  const samplingMs = outcome.status === 'succeeded' ? outcome.samplingMs : null;
  const changed = await tx.$executeRaw`
    UPDATE requests SET status = ${outcome.status}::"RequestStatus", lease_expires_at = NULL, preview_png = NULL,
      error = ${error}, sampling_ms = ${samplingMs}::int,
      progress_step = CASE ${outcome.status} WHEN 'succeeded' THEN progress_total WHEN 'queued' THEN NULL ELSE progress_step END,
      progress_total = CASE WHEN ${final} THEN progress_total END,
      finished_at = CASE WHEN ${final} THEN now() END,
      total_ms = CASE WHEN ${final} THEN (extract(epoch FROM now() - created_at) * 1000)::int END
    WHERE id = ${id}::uuid AND status = 'running' AND attempts = ${attempt}`;
  if (changed !== 1) return false;
  if (outcome.status === 'succeeded') {
    await tx.requestImage.createMany({
      data: outcome.images.map((img) => ({
        requestId: id,
        index: img.index,
        contentType: img.contentType,
        data: bytes(img.data),
        bytes: img.data.length,
        sha256: createHash('sha256').update(img.data).digest('hex'),
      })),
    });
  }
  await tx.requestAttempt.update({
    where: { requestId_attempt: { requestId: id, attempt } },
    data: { outcome: outcome.status === 'queued' ? 'requeued' : outcome.status, error: outcome.status === 'queued' ? outcome.reason : error, finishedAt: new Date() },
  });
  return true;
}

/** Records that `attempt`'s result was discarded because a later attempt owns the request. */
export async function markSuperseded(prisma: PrismaClient, id: string, attempt: number): Promise<void> {
  await prisma.requestAttempt.updateMany({ where: { requestId: id, attempt, outcome: null }, data: { outcome: 'superseded', finishedAt: new Date() } });
}

/** Stores a running attempt's progress (and preview PNG); ignored once that attempt no longer owns the row. */
export async function recordProgress(prisma: PrismaClient, id: string, attempt: number, step: number, total: number, previewPng: Buffer | null): Promise<void> {
  await prisma.request.updateMany({
    where: { id, attempts: attempt, status: 'running' },
    data: { progressStep: step, progressTotal: total, ...(previewPng ? { previewPng: bytes(previewPng) } : {}) },
  });
}

/** Prisma's Bytes want an ArrayBuffer-backed array; the encoders' Buffers are (never shared memory), so no copy is needed. */
function bytes(b: Buffer): Uint8Array<ArrayBuffer> {
  return b as Uint8Array<ArrayBuffer>;
}
