/**
 * The service's side of stored comparisons (the table is src/db/comparison-store.ts; the chat front ends
 * run them through src/jobs/comparisons.ts): what a comparison is, and the lease that says which bot
 * process runs it. Leases last as long as the workers' job leases (JOB_EXPIRE_SECONDS): a dead bot's
 * comparisons are taken over within one lease, like a dead worker's jobs.
 */
import { randomUUID } from 'node:crypto';
import type { Prisma } from '../db/client.ts';
import * as store from '../db/comparison-store.ts';
import type { Comparison } from '../db/generated/client.ts';
import type { GenerationParams } from '../engine/types.ts';
import type { Json, Platform, Requester } from './types.ts';

/** What one run of a comparison became, recorded as it goes. */
export interface RunProgress {
  /** Its own message, made before it is submitted (the replyTo it is submitted with). */
  readonly replyTo?: Json;
  readonly requestId?: string;
  /** Why it will not run (a limit, a refused message). */
  readonly refused?: string;
}

export interface StoredComparison {
  readonly id: string;
  readonly platform: Platform;
  readonly requester: Requester;
  readonly runs: readonly GenerationParams[];
  /** Where the platform shows the table. */
  readonly target: Json;
  readonly progress: readonly RunProgress[];
}

export interface ComparisonRecords {
  /** How long a process holds a comparison it does not renew. */
  readonly leaseSeconds: number;
  /** How often a process renews what it holds (and looks for comparisons nobody holds). */
  readonly heartbeatMs: number;
  /**
   * Stores a new comparison for the chat gesture `gesture`, held by `owner`, before its table exists (its
   * target is empty, so a process that takes it over before `setTarget` drops it); null when that gesture
   * already started one, in this process or another.
   */
  create(owner: string, comparison: Omit<StoredComparison, 'id' | 'progress' | 'target'>, gesture: string): Promise<StoredComparison | null>;
  /** Records where the table is; false once `owner` no longer holds the comparison. */
  setTarget(id: string, owner: string, target: Json): Promise<boolean>;
  /** Records what run `index` became; false once `owner` no longer holds the comparison. */
  recordRun(id: string, owner: string, index: number, run: RunProgress): Promise<boolean>;
  /** The unfinished comparisons of `platform` nobody holds (their process died or stopped), now held by `owner`. */
  claimUnheld(platform: Platform, owner: string): Promise<StoredComparison[]>;
  /** Renews `owner`'s leases; returns the ids it still holds. */
  renew(ids: readonly string[], owner: string): Promise<string[]>;
  finish(id: string, owner: string): Promise<void>;
  /** Gives the leases back, for the next process to take over at once. */
  release(ids: readonly string[], owner: string): Promise<void>;
}

/** The target of a comparison whose table is not made yet: no front reads it. */
const NO_TABLE: Json = {};

/** How many unheld comparisons one look takes over; the next look takes the rest. */
const CLAIM_BATCH = 20;

function fromRow(row: Comparison): StoredComparison {
  return {
    id: row.id,
    platform: row.platform,
    requester: row.requester as unknown as Requester,
    runs: row.runs as unknown as GenerationParams[],
    target: row.target as Json,
    progress: row.progress as unknown as RunProgress[],
  };
}

export class StoredComparisons implements ComparisonRecords {
  constructor(
    private readonly prisma: Prisma,
    readonly leaseSeconds: number,
    readonly heartbeatMs: number,
  ) {}

  async create(owner: string, c: Omit<StoredComparison, 'id' | 'progress' | 'target'>, gesture: string): Promise<StoredComparison | null> {
    const id = randomUUID();
    const requester = { ...c.requester } as Json;
    const runs = c.runs.map((r) => ({ ...r }) as Json);
    const stored = await store.insertComparison(this.prisma, { id, platform: c.platform, requester, runs, target: NO_TABLE, gesture }, owner, this.leaseSeconds);
    return stored ? { ...c, id, target: NO_TABLE, progress: c.runs.map(() => ({})) } : null;
  }

  setTarget(id: string, owner: string, target: Json): Promise<boolean> {
    return store.setTarget(this.prisma, id, owner, target);
  }

  recordRun(id: string, owner: string, index: number, run: RunProgress): Promise<boolean> {
    return store.recordRun(this.prisma, id, owner, index, { ...run } as Json);
  }

  async claimUnheld(platform: Platform, owner: string): Promise<StoredComparison[]> {
    return (await store.claimUnheld(this.prisma, platform, owner, this.leaseSeconds, CLAIM_BATCH)).map(fromRow);
  }

  renew(ids: readonly string[], owner: string): Promise<string[]> {
    return store.renewLeases(this.prisma, ids, owner, this.leaseSeconds);
  }

  finish(id: string, owner: string): Promise<void> {
    return store.finishComparison(this.prisma, id, owner);
  }

  release(ids: readonly string[], owner: string): Promise<void> {
    return store.releaseLeases(this.prisma, ids, owner);
  }
}
