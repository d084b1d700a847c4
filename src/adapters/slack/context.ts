/**
 * What every listener shares: the service, the catalog (for model/sampler choices), the delivery
 * of results, and the retry guard. Listeners only translate Slack payloads into service calls.
 */
import type { Catalog } from '../../engine/catalog.ts';
import type { ComparisonRunner } from '../../jobs/comparisons.ts';
import type { Requester } from '../../jobs/types.ts';
import type { SlackDelivery } from './delivery.ts';
import type { SlackEnv } from './env.ts';
import type { FrontEndContext } from '../context.ts';

/** The shared context plus Slack's parts: its settings, the message deliveries and the retry guard. */
export interface SlackDeps extends FrontEndContext {
  readonly env: SlackEnv;
  readonly delivery: SlackDelivery;
  readonly guard: RetryGuard;
  /** /compare's comparisons, stored and finished by whichever bot process holds them. */
  readonly comparisons: ComparisonRunner;
}

export function slackRequester(teamId: string | null | undefined, channelId: string, userId: string): Requester {
  return { platform: 'slack', workspaceId: teamId ?? undefined, channelId, userId };
}

export function modelNames(catalog: Catalog): string[] {
  return catalog.models.list().map((m) => m.name);
}

/**
 * Slack redelivers a request it did not see acknowledged in 3 s (X-Slack-Retry-Num). Every gesture
 * carries a key that is unique to it (trigger_id, view id, ...). This guard drops repeats this process
 * has seen without a database round trip; the service refuses the rest (a redelivery to another process
 * or after a restart) with DuplicateRequestError, since the key travels as replyTo.dedupeKey.
 */
export class RetryGuard {
  private readonly seen = new Map<string, number>();

  constructor(private readonly ttlMs = 30 * 60_000) {}

  /** True when this delivery should start work; false for a repeat of one already handled here. */
  firstDelivery(key: string): boolean {
    const now = Date.now();
    // Insertion order is expiry order: drop from the front until the first live key.
    for (const [k, expires] of this.seen) {
      if (expires >= now) break;
      this.seen.delete(k);
    }
    if (this.seen.has(key)) return false;
    this.seen.set(key, now + this.ttlMs);
    return true;
  }
}
