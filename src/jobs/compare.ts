/**
 * A comparison (src/engine/compare.ts) queued through the service for a chat front end: each sampler's
 * run is an ordinary generation request (the queue, limits, delivery of its image and its restart rules
 * are those of any request), submitted one after another so a comparison holds one of the user's
 * concurrent slots at a time; the table is reported as each run finishes. What is platform-specific
 * (where the table and each run's message live) is the front end's `ComparisonFront`.
 */
import { comparisonTitle, type ComparisonRow } from '../engine/compare.ts';
import type { GenerationParams } from '../engine/types.ts';
import type { RunProgress } from './comparison-records.ts';
import type { GenerationService, Submitted } from './service.ts';
import { ValidationError } from '../engine/errors.ts';
import { DuplicateRequestError, RateLimitError, type Json, type RequestEvent, type Requester } from './types.ts';

/** Where a comparison shows itself on one platform. */
export interface ComparisonFront {
  /** The table changed (a run started, finished, failed or was refused). */
  table(title: string, rows: readonly ComparisonRow[]): Promise<void>;
  /**
   * Run `index`'s own message, made before it is submitted; returns the replyTo its request is submitted
   * with. It carries a dedupeKey unique to the run, so a second submission of it is recognised.
   */
  openRun(params: GenerationParams, index: number): Promise<Json>;
  /** The run was queued: the front end follows it like any request it submitted. */
  submitted(params: GenerationParams, submitted: Submitted, replyTo: Json): Promise<void>;
  /** The run was refused (`reason`, e.g. the hourly limit) and will not run: its own message says so. */
  notRun(params: GenerationParams, replyTo: Json, reason: string): Promise<void>;
}

export interface ComparisonRun {
  readonly service: GenerationService;
  readonly requester: Requester;
  readonly runs: readonly GenerationParams[];
  readonly front: ComparisonFront;
  /** What each run became before (a comparison resumed after its process died); default: nothing yet. */
  readonly progress?: readonly RunProgress[];
  /** Stores what run `index` became before it is acted on; false when the comparison is no longer this process's to run. */
  readonly record?: (index: number, run: RunProgress) => Promise<boolean>;
  /** How long to keep submitting a run again while the user has too many requests running, or the service cannot take it. */
  readonly patienceMs?: number;
  /** Stops the comparison where it is (the process is stopping); what is recorded lets another finish it. */
  readonly signal?: AbortSignal;
}

type FinalEvent = Extract<RequestEvent, { type: 'succeeded' | 'failed' | 'cancelled' }>;

/** The request's final event, or null once `signal` aborts. */
function finalEvent(service: GenerationService, id: string, signal: AbortSignal | undefined): Promise<FinalEvent | null> {
  return new Promise((resolve) => {
    const onAbort = () => (unwatch(), resolve(null));
    const unwatch = service.watch(id, (event) => {
      if (event.type === 'succeeded' || event.type === 'failed' || event.type === 'cancelled') {
        queueMicrotask(() => unwatch());
        signal?.removeEventListener('abort', onAbort);
        resolve(event);
      }
    });
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Thrown when the comparison stops being this process's to run (its lease went to another). */
class NotOurs extends Error {}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/** Validated parameters as a submission takes them: no label is an absent one, not null. */
function submittable(p: GenerationParams): Record<string, unknown> {
  const { label, guidance, ...rest } = p;
  return { ...rest, options: { ...p.options }, ...(label !== null ? { label, guidance } : {}) };
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** How long to wait before submitting again after `error`; null when it is a refusal, which waiting does not change. */
function retryDelayMs(error: unknown, attempt: number): number | null {
  if (error instanceof RateLimitError) return error.reason === 'concurrent' ? Math.min(2, error.retryAfterSeconds) * 1000 : null;
  if (error instanceof ValidationError) return null;
  // Anything else is the service failing (the database restarting, a connection cut): it passes.
  return Math.min(5000, 500 * 2 ** attempt);
}

/**
 * Submits one run, waiting while the user's other requests hold every slot (as the playground does) and
 * while the service cannot take it; returns the submission, or why the run will not run.
 */
async function submitRun(c: ComparisonRun, params: GenerationParams, replyTo: Json, giveUpAt: number): Promise<Submitted | { readonly refused: string }> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await c.service.submitGeneration({ requester: c.requester, params: submittable(params), replyTo });
    } catch (error) {
      // Submitted before (the run's dedupe key): follow that request.
      if (error instanceof DuplicateRequestError) return { id: error.requestId, position: (await c.service.queuePosition(error.requestId)) ?? 1 };
      const delay = retryDelayMs(error, attempt);
      if (delay === null || Date.now() >= giveUpAt || c.signal?.aborted) return { refused: reasonOf(error) };
      await sleep(delay, c.signal);
    }
  }
}

/**
 * Runs the comparison, or resumes it from `progress`; resolves with the rows, and whether they are all
 * final (not when it was stopped by `signal` or taken over by another process). A run that fails, or is
 * refused, or whose message cannot be made, is a row saying so (with the reason), and the rest still run.
 * Each step is recorded before it is acted on: a run's message before it is submitted (a resumed run is
 * submitted with the same replyTo, whose dedupe key the service recognises), its request before it is followed.
 */
export async function runComparison(c: ComparisonRun): Promise<{ readonly rows: ComparisonRow[]; readonly finished: boolean }> {
  const title = comparisonTitle(c.runs[0]!);
  const rows: ComparisonRow[] = c.runs.map((r) => ({ sampler: r.sampler, steps: r.steps, seconds: null, note: 'waiting' }));
  const giveUpAt = Date.now() + (c.patienceMs ?? 10 * 60_000);
  const record = async (index: number, run: RunProgress) => {
    if (c.record && !(await c.record(index, run))) throw new NotOurs();
  };
  try {
    await c.front.table(title, rows);
    for (const [i, params] of c.runs.entries()) {
      if (c.signal?.aborted) break;
      const before = c.progress?.[i] ?? {};
      if (before.refused !== undefined) {
        rows[i] = { ...rows[i]!, note: `not run: ${before.refused}` };
        continue;
      }
      let requestId = before.requestId ?? null;
      if (requestId === null) {
        let replyTo = before.replyTo;
        try {
          if (replyTo === undefined) {
            replyTo = await c.front.openRun(params, i);
            await record(i, { replyTo });
          }
        } catch (error) {
          if (error instanceof NotOurs) throw error;
          rows[i] = { ...rows[i]!, note: `not run: ${reasonOf(error)}` };
          await record(i, { refused: reasonOf(error) });
          await c.front.table(title, rows);
          continue;
        }
        const submitted = await submitRun(c, params, replyTo, giveUpAt);
        if ('refused' in submitted) {
          if (c.signal?.aborted) break;
          await record(i, { replyTo, refused: submitted.refused });
          rows[i] = { ...rows[i]!, note: `not run: ${submitted.refused}` };
          await c.front.notRun(params, replyTo, submitted.refused);
          await c.front.table(title, rows);
          continue;
        }
        await record(i, { replyTo, requestId: submitted.id });
        requestId = submitted.id;
        await c.front.submitted(params, submitted, replyTo);
      }
      // A run submitted before a restart is followed by the restarted delivery (it re-attaches to active requests).
      rows[i] = { ...rows[i]!, note: 'running' };
      await c.front.table(title, rows);
      const final = await finalEvent(c.service, requestId, c.signal);
      if (!final) break;
      const view = await c.service.getRequest(requestId);
      const ms = view?.timings.samplingMs ?? null;
      rows[i] =
        final.type === 'succeeded'
          ? { sampler: params.sampler, steps: params.steps, seconds: ms === null ? null : ms / 1000 }
          : { ...rows[i]!, note: final.type === 'failed' ? `failed: ${final.error}` : 'cancelled' };
      await c.front.table(title, rows);
    }
  } catch (error) {
    if (!(error instanceof NotOurs)) throw error;
    return { rows, finished: false };
  }
  return { rows, finished: !c.signal?.aborted };
}
