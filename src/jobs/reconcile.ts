/**
 * A safety net between our table and pg-boss's: a request still queued or running whose job pg-boss
 * no longer offers (its retries ran out while it was requeued, or it was dropped) would otherwise
 * wait forever. Such requests are failed with a message, which also releases the user's limit slot
 * and lets the adapter reply. Reads pg-boss's job table (its schema "pgboss"), never writes it.
 */
import type pg from 'pg';
import type { EventBus } from './bus.ts';
import type { Platform, RequestCounters, RequestKind } from './types.ts';

export const LOST_JOB_ERROR = 'the job was lost by the queue after repeated failures; please try again';

/** Requests younger than this are never touched (their job may be mid-insert elsewhere). */
const MIN_AGE_SECONDS = 120;

export async function reconcileLostRequests(pool: pg.Pool, bus: EventBus, counters?: RequestCounters): Promise<string[]> {
  const { rows } = await pool.query<{ id: string; platform: Platform; kind: RequestKind }>(
    `UPDATE requests r SET status = 'failed', error = $1, finished_at = now(),
       total_ms = (extract(epoch FROM now() - r.created_at) * 1000)::int
     WHERE r.status IN ('queued', 'running')
       AND r.created_at < now() - make_interval(secs => $2)
       AND NOT EXISTS (
         SELECT 1 FROM pgboss.job j
         WHERE j.name = r.queue_name AND j.id = r.id AND j.state IN ('created', 'retry', 'active'))
     RETURNING r.id, r.platform::text AS platform, r.kind::text AS kind`,
    [LOST_JOB_ERROR, MIN_AGE_SECONDS],
  );
  for (const r of rows) {
    counters?.requestFinished(r.platform, r.kind, 'failed');
    await bus.publish({ t: 'failed', id: r.id, p: r.platform, e: LOST_JOB_ERROR }).catch(() => undefined);
  }
  return rows.map((r) => r.id);
}
