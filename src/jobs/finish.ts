/**
 * Ends attempts: writes a batch's outcomes and their events in one guarded statement
 * (src/db/queue-store.ts), then counts them. A result that lost to a later attempt is recorded as
 * superseded and announced by nobody: the attempt that owns the request will announce its own.
 */
import type { Logger } from '../ops/logger.ts';
import type { Prisma } from '../db/client.ts';
import { finishAttempts, markSuperseded, storedImage, type ClaimedRow, type EndedRow, type Outcome, type StoredOutcome } from '../db/queue-store.ts';
import { MAX_EVENT_CHARS, truncateError, type BusMessage, type EventBus } from './bus.ts';
import type { DbRetry } from './retry.ts';
import type { RequestCounters } from './types.ts';
import { imageRefs } from './views.ts';

export interface FinishDeps {
  readonly prisma: Prisma;
  readonly bus: EventBus;
  readonly log: Logger;
  readonly counters?: RequestCounters | undefined;
}

/** How one claimed row of a batch ends. */
export interface RowEnd {
  readonly row: ClaimedRow;
  readonly outcome: Outcome;
}

export class Finisher {
  constructor(
    private readonly deps: FinishDeps,
    private readonly retry: DbRetry,
  ) {}

  /**
   * Ends the attempts of a batch's rows together, with their events, in one statement: retried
   * through outages like any write of finished work, and since the events go out with the commit,
   * a retry never announces what was not written, nor what an earlier try already announced.
   */
  async finish(ends: readonly RowEnd[]): Promise<void> {
    if (ends.length === 0) return;
    const all = ends.map(({ row, outcome: o }) => {
      const outcome: StoredOutcome =
        o.status === 'failed' ? { status: 'failed', error: truncateError(o.error) } : o.status === 'succeeded' ? { ...o, images: o.images.map(storedImage) } : o;
      return { row, outcome, event: finalEvent(row, outcome) };
    });
    const label = `${all[0]!.outcome.status} ${all.map((e) => e.row.id).join(',')}`;
    const won = await this.retry.run(
      () => finishAttempts(this.deps.prisma, all.map((e) => ({ id: e.row.id, attempt: e.row.attempts, outcome: e.outcome, event: e.event })), this.deps.bus.channel),
      label,
    );
    for (const { row, outcome: o } of all) {
      if (!won.has(row.id)) {
        this.deps.log.warn({ id: row.id, attempt: row.attempts }, 'result discarded: a later attempt owns this request');
        await markSuperseded(this.deps.prisma, row.id, row.attempts).catch(() => undefined);
      } else if (o.status !== 'queued') {
        this.deps.counters?.requestFinished(row.platform, row.kind, o.status);
      }
    }
    await this.deps.bus.carried(all.filter((e) => won.has(e.row.id)).map((e) => e.event));
  }

  /** Requests a claim ended by itself (out of attempts, cancelled while unowned). */
  async ended(rows: readonly EndedRow[], status: 'failed' | 'cancelled'): Promise<void> {
    for (const r of rows) this.deps.counters?.requestFinished(r.platform, r.kind, status);
    await this.publishFinal(rows.map((r) => (status === 'failed' ? { t: 'failed', id: r.id, p: r.platform, e: r.error } : { t: 'cancelled', id: r.id, p: r.platform })));
  }

  /**
   * Final events are retried like database writes: the rows are already final, and a NOTIFY lost
   * on a connection broken by a restart would leave a watcher waiting. A duplicate is harmless
   * (watchers drop events after the final one; replies go through claimDelivery).
   */
  private async publishFinal(messages: readonly BusMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const ids = messages.map((m) => m.id);
    await this.retry.run(() => this.deps.bus.publish(...messages), `publish ${messages[0]!.t} ${ids.join(',')}`).catch((err: unknown) =>
      this.deps.log.warn({ err, ids }, 'could not publish final events; watchers will find them when they re-read'),
    );
  }
}

/**
 * The event (JSON) announcing how an attempt ended (`queued`: handed back, first in line again). A
 * success names its images, so whoever delivers them need not read them back first; a list too long
 * for a NOTIFY is left out, and readers fetch it (src/jobs/watch.ts).
 */
function finalEvent(row: ClaimedRow, o: StoredOutcome): string {
  const message = finalMessage(row, o);
  const json = JSON.stringify(message);
  if (message.t !== 'succeeded' || json.length <= MAX_EVENT_CHARS) return json;
  return JSON.stringify({ t: message.t, id: message.id, p: message.p } satisfies BusMessage);
}

function finalMessage(row: ClaimedRow, o: StoredOutcome): BusMessage {
  if (o.status === 'queued') return { t: 'queued', id: row.id, p: row.platform, pos: 1 };
  if (o.status === 'failed') return { t: 'failed', id: row.id, p: row.platform, e: o.error };
  if (o.status === 'cancelled') return { t: 'cancelled', id: row.id, p: row.platform };
  const imgs = imageRefs(o.images.map((img) => ({ index: img.index, contentType: img.contentType, bytes: img.data.length, sha256: img.sha256 })));
  return { t: 'succeeded', id: row.id, p: row.platform, imgs };
}
