/**
 * Storing a validated request: the row with its requester's keys, the user's limits checked under
 * their lock, then any costly check, all in one transaction, and its `queued` event carried by the
 * INSERT. Every kind of submission ends here.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { MAX_SEED } from '../core/rng.ts';
import type { Prisma } from '../db/client.ts';
import { insertRequest, type NewRequest } from '../db/request-store.ts';
import type { Logger } from '../ops/logger.ts';
import type { EventBus } from './bus.ts';
import type { Draft } from './drafts.ts';
import type { EnginePort } from './engine-port.ts';
import { checkLimits, type LimitConfig } from './limits.ts';
import type { Submitted } from './service.ts';
import { DuplicateRequestError, type Json, type RequestCounters, type Requester } from './types.ts';

export interface SubmitDeps {
  readonly prisma: Prisma;
  readonly bus: EventBus;
  /** Only validation and models are used on the submitting side. */
  readonly engine: SubmitEngine;
  readonly limits: LimitConfig;
  readonly log: Logger;
  readonly counters?: RequestCounters | undefined;
}

export type SubmitEngine = Pick<
  EnginePort,
  'validate' | 'model' | 'validateVariation' | 'validateInterpolation' | 'validateLabelInterpolation' | 'validateImageInterpolation' | 'validateInversion'
>;

export function userKeyOf(r: Requester): string {
  return `${r.platform}:${r.workspaceId ?? ''}:${r.userId}`;
}

export function randomSeed(): number {
  return randomInt(0, MAX_SEED);
}

function dedupeKeyOf(replyTo: Json): string | null {
  if (typeof replyTo !== 'object' || replyTo === null || Array.isArray(replyTo)) return null;
  const key = replyTo['dedupeKey'];
  return typeof key === 'string' ? key : null;
}

/** Stores the request once the limits and then `afterLimits` (costly checks) pass; anything refused writes nothing. */
export async function storeRequest(
  deps: SubmitDeps,
  requester: Requester,
  replyTo: Json,
  derivedFromId: string | null,
  draft: Draft,
  afterLimits?: () => Promise<void>,
): Promise<Submitted> {
  const row: NewRequest = {
    ...draft,
    id: randomUUID(),
    platform: requester.platform,
    workspaceId: requester.workspaceId ?? null,
    channelId: requester.channelId ?? null,
    userId: requester.userId,
    userKey: userKeyOf(requester),
    replyTo,
    dedupeKey: dedupeKeyOf(replyTo),
    derivedFromId,
  };
  const inserted = await insertRequest(deps.prisma, row, deps.bus.channel, async (counts) => {
    const refusal = checkLimits(counts, deps.limits, new Date());
    if (refusal) throw refusal;
    await afterLimits?.();
  });
  if ('duplicateOf' in inserted) throw new DuplicateRequestError(inserted.duplicateOf);
  await deps.bus.carried([inserted.event]);
  deps.counters?.requestSubmitted(row.platform, row.kind);
  return { id: row.id, position: inserted.position };
}
