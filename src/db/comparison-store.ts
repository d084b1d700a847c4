/**
 * Comparisons (/compare in the chat apps) as the service stores them: created leased to the bot process
 * that runs them, each run's progress recorded only while that process still holds the lease, and
 * claimed by another process once the lease has run out (its holder died) or was given back (it stopped).
 */
import type { Prisma as PrismaClient } from './client.ts';
import type { Comparison, Prisma } from './generated/client.ts';

type Platform = Comparison['platform'];
type JsonValue = Prisma.JsonValue;

export interface NewComparison {
  readonly id: string;
  readonly platform: Platform;
  readonly requester: JsonValue;
  readonly runs: readonly JsonValue[];
  readonly target: JsonValue;
  /** The chat gesture that starts it; a second comparison for the same gesture is not stored. */
  readonly gesture: string;
}

/** Stores `c` held by `owner`; false (nothing stored) when its gesture already started a comparison. */
export async function insertComparison(prisma: PrismaClient, c: NewComparison, owner: string, leaseSeconds: number): Promise<boolean> {
  const inserted = await prisma.$executeRaw`
    INSERT INTO comparisons (id, platform, requester, runs, target, progress, lease_owner, lease_expires_at, gesture)
    VALUES (${c.id}::uuid, ${c.platform}::"Platform", ${JSON.stringify(c.requester)}::jsonb, ${JSON.stringify(c.runs)}::jsonb,
      ${JSON.stringify(c.target)}::jsonb, ${JSON.stringify(c.runs.map(() => ({})))}::jsonb, ${owner},
      now() + make_interval(secs => ${leaseSeconds}::float8), ${c.gesture})
    ON CONFLICT (platform, gesture) DO NOTHING`;
  return inserted === 1;
}

/** Sets where the table is, once it is made; false when `owner` no longer holds the comparison. */
export async function setTarget(prisma: PrismaClient, id: string, owner: string, target: JsonValue): Promise<boolean> {
  const changed = await prisma.$executeRaw`
    UPDATE comparisons SET target = ${JSON.stringify(target)}::jsonb WHERE id = ${id}::uuid AND lease_owner = ${owner} AND finished_at IS NULL`;
  return changed === 1;
}

/** Sets run `index`'s progress; false when `owner` no longer holds the comparison (another process runs it now). */
export async function recordRun(prisma: PrismaClient, id: string, owner: string, index: number, run: JsonValue): Promise<boolean> {
  const changed = await prisma.$executeRaw`
    UPDATE comparisons SET progress = jsonb_set(progress, ARRAY[${String(index)}], ${JSON.stringify(run)}::jsonb)
    WHERE id = ${id}::uuid AND lease_owner = ${owner} AND finished_at IS NULL`;
  return changed === 1;
}

/** Leases to `owner` the unfinished comparisons of `platform` that nobody holds, oldest first. */
export function claimUnheld(prisma: PrismaClient, platform: Platform, owner: string, leaseSeconds: number, limit: number): Promise<Comparison[]> {
  return prisma.$queryRaw<Comparison[]>`
    UPDATE comparisons SET lease_owner = ${owner}, lease_expires_at = now() + make_interval(secs => ${leaseSeconds}::float8)
    WHERE id IN (
      SELECT id FROM comparisons
      WHERE platform = ${platform}::"Platform" AND finished_at IS NULL AND (lease_expires_at IS NULL OR lease_expires_at < now())
      ORDER BY created_at LIMIT ${limit}::int FOR UPDATE SKIP LOCKED)
    RETURNING id, platform, requester, runs, target, progress, lease_owner AS "leaseOwner", lease_expires_at AS "leaseExpiresAt",
      finished_at AS "finishedAt", created_at AS "createdAt", gesture`;
}

/** Extends `owner`'s leases; returns the ids it still holds. */
export async function renewLeases(prisma: PrismaClient, ids: readonly string[], owner: string, leaseSeconds: number): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await prisma.$queryRaw<{ id: string }[]>`
    UPDATE comparisons SET lease_expires_at = now() + make_interval(secs => ${leaseSeconds}::float8)
    WHERE id = ANY(${[...ids]}::uuid[]) AND lease_owner = ${owner} AND finished_at IS NULL
    RETURNING id::text`;
  return rows.map((r) => r.id);
}

export async function finishComparison(prisma: PrismaClient, id: string, owner: string): Promise<void> {
  await prisma.comparison.updateMany({ where: { id, leaseOwner: owner }, data: { finishedAt: new Date(), leaseOwner: null, leaseExpiresAt: null } });
}

/** Gives `owner`'s leases back (it is stopping): the next process claims them at once. */
export async function releaseLeases(prisma: PrismaClient, ids: readonly string[], owner: string): Promise<void> {
  if (ids.length === 0) return;
  await prisma.comparison.updateMany({ where: { id: { in: [...ids] }, leaseOwner: owner, finishedAt: null }, data: { leaseOwner: null, leaseExpiresAt: null } });
}
