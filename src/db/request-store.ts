/**
 * Requests as the service reads and writes them (the queue's side is src/db/queue-store.ts): the
 * submit transaction, reads for views and events, cancellation and delivery claims. Prisma's typed
 * CRUD for reads and the rare writes; `$queryRaw` for the lock, the limit counts, the insert and
 * queue positions.
 */
import type { Prisma as PrismaClient } from './client.ts';
import { TX_OPTIONS } from './client.ts';
import type { Prisma, Request, RequestImage } from './generated/client.ts';

type Tx = Prisma.TransactionClient;
type Platform = Request['platform'];

/** What a view shows of each image (not its bytes). */
export const IMAGE_META = { index: true, contentType: true, bytes: true, sha256: true } as const;
export type ImageMeta = Pick<RequestImage, keyof typeof IMAGE_META>;
export type RequestWithImages = Request & { images: ImageMeta[] };

const FINAL: Request['status'][] = ['succeeded', 'failed', 'cancelled'];

type JsonValue = Prisma.JsonValue;

/**
 * A validated request, as the service stores it: the row's columns that the submission decides, in
 * the row's own types, except those the service holds in handier ones. The rest (status, lease,
 * progress, timings, ...) start empty and belong to the queue and the worker.
 */
export type NewRequest = Readonly<
  Pick<
    Request,
    | 'id'
    | 'kind'
    | 'platform'
    | 'workspaceId'
    | 'channelId'
    | 'userId'
    | 'userKey'
    | 'model'
    | 'sampler'
    | 'steps'
    | 'label'
    | 'guidance'
    | 'count'
    | 'batchKey'
    | 'derivedFromId'
    | 'dedupeKey'
    | 'recordTrajectory'
  > & {
    /** 0..2^32-1 as a number; stored as bigint. */
    seed: number;
    options: Record<string, unknown>;
    noiseDemo: Record<string, unknown> | null;
    /** Variation or interpolation parameters (src/jobs/edits.ts). */
    edit: Record<string, unknown> | null;
    inputImage: Buffer | null;
    replyTo: JsonValue;
  }
>;

/** The counts a submission's limits are decided on, read under the user's lock. */
export interface UserCounts {
  /** The user's queued + running requests. */
  readonly userActive: number;
  /** The user's requests created in the last hour, and when the oldest of them was. */
  readonly userLastHour: number;
  readonly oldestInHourAt: Date | null;
  /** Queued requests overall. */
  readonly queued: number;
}

/** A stored request's queue position and its `queued` event (JSON); or the request a redelivered gesture already made. */
export type Inserted = { readonly position: number; readonly event: string } | { readonly duplicateOf: string };

/**
 * Inserts a request in one transaction under a lock on its user: a redelivered gesture (same
 * dedupe key) finds the first one's row, and `admit` sees counts no concurrent submission of that
 * user can change; it throws to refuse, and then nothing is written. The row's timestamp is taken
 * after the lock, so one user's requests are ordered as their transactions commit and the
 * positions reported follow the queue's order. The INSERT also sends the request's `queued` event on
 * `channel` (at commit, so a worker it wakes finds the row). Raw statements, not Prisma's create: on
 * the 2-core development machine under load a typed create cost about 20 ms of CPU, the same INSERT 7 ms.
 */
export async function insertRequest(
  prisma: PrismaClient,
  r: NewRequest,
  channel: string | null,
  admit: (counts: UserCounts) => Promise<void>,
): Promise<Inserted> {
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${r.userKey}))`;
    const [found] = await tx.$queryRaw<[UserCounts & { duplicateOf: string | null }]>`
      SELECT
        (SELECT id::text FROM requests WHERE user_key = ${r.userKey} AND dedupe_key = ${r.dedupeKey}) AS "duplicateOf",
        (SELECT count(*)::int FROM requests WHERE user_key = ${r.userKey} AND status IN ('queued', 'running')) AS "userActive",
        (SELECT count(*)::int FROM requests WHERE user_key = ${r.userKey} AND created_at > now() - interval '1 hour') AS "userLastHour",
        (SELECT min(created_at) FROM requests WHERE user_key = ${r.userKey} AND created_at > now() - interval '1 hour') AS "oldestInHourAt",
        (SELECT count(*)::int FROM requests WHERE status = 'queued') AS queued`;
    if (found.duplicateOf) return { duplicateOf: found.duplicateOf };
    await admit(found);
    // The new row is invisible to this statement's count: its position is the queued rows ahead, plus one.
    const [inserted] = await tx.$queryRaw<[{ position: number; event: string }]>`
      WITH row AS (
        INSERT INTO requests (id, kind, status, platform, workspace_id, channel_id, user_id, user_key, model, sampler, steps, seed, count,
          options, noise_demo, edit, input_image, batch_key, reply_to, derived_from_id, dedupe_key, record_trajectory, label, guidance, created_at)
        VALUES (${r.id}::uuid, ${r.kind}::"RequestKind", 'queued', ${r.platform}::"Platform", ${r.workspaceId}, ${r.channelId}, ${r.userId},
          ${r.userKey}, ${r.model}, ${r.sampler}, ${r.steps}::int, ${r.seed}::bigint, ${r.count}::int,
          ${JSON.stringify(r.options)}::jsonb, ${r.noiseDemo === null ? null : JSON.stringify(r.noiseDemo)}::jsonb,
          ${r.edit === null ? null : JSON.stringify(r.edit)}::jsonb, ${r.inputImage}::bytea,
          ${r.batchKey}, ${JSON.stringify(r.replyTo)}::jsonb, ${r.derivedFromId}::uuid, ${r.dedupeKey}, ${r.recordTrajectory},
          ${r.label}, ${r.guidance}::float8, clock_timestamp())
        RETURNING id, platform, created_at
      ), placed AS (
        SELECT id, platform, (SELECT count(*)::int FROM requests o WHERE o.status = 'queued' AND (o.created_at, o.id) < (row.created_at, row.id)) + 1 AS position
        FROM row
      ), queued AS (
        -- The BusMessage 'queued' of src/jobs/bus.ts.
        SELECT position, json_build_object('t', 'queued', 'id', id, 'p', platform, 'pos', position)::text AS event FROM placed
      ), notified AS (
        SELECT pg_notify(${channel}, event) FROM queued WHERE ${channel}::text IS NOT NULL
      )
      SELECT position, event FROM queued WHERE (SELECT count(*) FROM notified) >= 0`;
    return inserted;
  }, TX_OPTIONS);
}

/** 1 = next to run; null when the request is not queued. */
export async function queuePosition(db: PrismaClient | Tx, id: string): Promise<number | null> {
  const rows = await db.$queryRaw<{ position: number | null }[]>`
    SELECT CASE WHEN r.status = 'queued' THEN
      (SELECT count(*)::int FROM requests o WHERE o.status = 'queued' AND (o.created_at, o.id) <= (r.created_at, r.id))
    END AS position
    FROM requests r WHERE r.id = ${id}::uuid`;
  return rows[0]?.position ?? null;
}

export function findRequest(prisma: PrismaClient, id: string): Promise<RequestWithImages | null> {
  return prisma.request.findUnique({ where: { id }, include: { images: { select: IMAGE_META } } });
}

export function findRequestRow(prisma: PrismaClient, id: string): Promise<Request | null> {
  return prisma.request.findUnique({ where: { id } });
}

export function recentRequests(prisma: PrismaClient, userKey: string, take: number): Promise<RequestWithImages[]> {
  return prisma.request.findMany({ where: { userKey }, orderBy: { createdAt: 'desc' }, take, include: { images: { select: IMAGE_META } } });
}

export function findImage(prisma: PrismaClient, requestId: string, index: number): Promise<RequestImage | null> {
  return prisma.requestImage.findUnique({ where: { requestId_index: { requestId, index } } });
}

export function imagesOf(prisma: PrismaClient, requestId: string): Promise<ImageMeta[]> {
  return prisma.requestImage.findMany({ where: { requestId }, select: IMAGE_META });
}

export async function previewOf(prisma: PrismaClient, id: string): Promise<Buffer | null> {
  const row = await prisma.request.findUnique({ where: { id }, select: { previewPng: true } });
  return row?.previewPng ? Buffer.from(row.previewPng) : null;
}

/** A queued request is cancelled at once; true if it was queued. */
export async function cancelQueued(prisma: PrismaClient, id: string, error: string): Promise<boolean> {
  const res = await prisma.request.updateMany({ where: { id, status: 'queued' }, data: { status: 'cancelled', finishedAt: new Date(), error } });
  return res.count === 1;
}

/** Asks the worker running `id` to stop (it ends the attempt as cancelled); true if it was running and not asked yet. */
export async function requestCancel(prisma: PrismaClient, id: string): Promise<boolean> {
  const res = await prisma.request.updateMany({ where: { id, status: 'running', cancelRequested: false }, data: { cancelRequested: true } });
  return res.count === 1;
}

/** Deletes a finished request of `userKey` with its images and attempts (cascade); true if it was deleted. */
export async function deleteFinished(prisma: PrismaClient, id: string, userKey: string): Promise<boolean> {
  const res = await prisma.request.deleteMany({ where: { id, userKey, status: { in: ['succeeded', 'failed', 'cancelled'] } } });
  return res.count === 1;
}

/**
 * Merges `fields` into the request's stored reply target while its final reply is unclaimed; true if
 * it did. Both this and the claim update the row under its lock, so a process that claims the reply
 * afterwards reads these fields, and one that claimed it before never sees them.
 */
export async function amendReplyTo(prisma: PrismaClient, id: string, fields: { readonly [key: string]: JsonValue }): Promise<boolean> {
  const changed = await prisma.$executeRaw`
    UPDATE requests SET reply_to = reply_to || ${JSON.stringify(fields)}::jsonb WHERE id = ${id}::uuid AND delivered_at IS NULL`;
  return changed === 1;
}

/** Succeeds for exactly one caller ever, once the request is final. */
export async function claimDelivery(prisma: PrismaClient, id: string): Promise<boolean> {
  const res = await prisma.request.updateMany({ where: { id, deliveredAt: null, status: { in: FINAL } }, data: { deliveredAt: new Date() } });
  return res.count === 1;
}

export function pendingDeliveries(prisma: PrismaClient, platform: Platform, take: number): Promise<RequestWithImages[]> {
  return prisma.request.findMany({
    where: { platform, deliveredAt: null, status: { in: FINAL } },
    orderBy: { finishedAt: 'asc' },
    take,
    include: { images: { select: IMAGE_META } },
  });
}

export function activeRequests(prisma: PrismaClient, platform: Platform): Promise<RequestWithImages[]> {
  return prisma.request.findMany({
    where: { platform, status: { in: ['queued', 'running'] } },
    orderBy: { createdAt: 'asc' },
    include: { images: { select: IMAGE_META } },
  });
}
