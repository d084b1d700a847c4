/**
 * The delivery engine's rules on scripted events, for any platform: one final reply per request
 * whichever paths ask for it (the owner's watch, the platform-wide event and its resyncs, sweeps,
 * other processes), the owner's head start, sweeps that leave young requests to their owners, a
 * forgotten request that is never answered, and a stop that leaves unclaimed work for the next
 * process. Tests wait for the engine's own "settled" log lines, never for a fixed time, so a
 * duplicate that a later path would send is counted. (End to end: test/adapters/*.)
 */
import { describe, expect, it } from 'vitest';
import { DeliveryEngine } from '../../src/delivery/engine.ts';
import type { Conversation, LiveEvent, Messenger } from '../../src/delivery/messenger.ts';
import type { GenerationService, Json, RequestEvent, RequestEventListener, RequestView } from '../../src/jobs/service.ts';
import type { Logger } from '../../src/ops/logger.ts';

const ID = '00000000-0000-4000-8000-00000000000a';

/** The database's part: one claim per request, shared by every process (engine) of a test. */
class Requests {
  delivered = new Set<string>();
  pending: { id: string; finishedAt: Date }[] = [];
  claim(id: string): boolean {
    if (this.delivered.has(id)) return false;
    this.delivered.add(id);
    this.pending = this.pending.filter((p) => p.id !== id);
    return true;
  }
}

/** One process's view of the service: watches are driven by the test. */
class ScriptedService implements Partial<GenerationService> {
  readonly watchers = new Map<string, RequestEventListener>();
  platformListener: RequestEventListener | null = null;

  constructor(private readonly requests: Requests) {}

  watch(id: string, listener: RequestEventListener): () => void {
    this.watchers.set(id, listener);
    return () => this.watchers.delete(id);
  }
  watchPlatform(_platform: string, listener: RequestEventListener): () => void {
    this.platformListener = listener;
    return () => (this.platformListener = null);
  }
  /** A final event as the bus delivers it: to the request's watcher and to the platform-wide one. */
  finished(id: string): void {
    const event: RequestEvent = { type: 'succeeded', requestId: id, images: [] };
    this.watchers.get(id)?.(event);
    this.platformListener?.(event);
  }
  async activeRequests(): Promise<RequestView[]> {
    return [];
  }
  async pendingDeliveries(): Promise<RequestView[]> {
    return this.requests.pending.map((p) => ({ id: p.id, finishedAt: p.finishedAt }) as RequestView);
  }
  async claimDelivery(id: string): Promise<boolean> {
    return this.requests.claim(id);
  }
  async getRequest(id: string): Promise<RequestView | null> {
    return { id, status: 'succeeded', replyTo: { to: 'u1' } } as unknown as RequestView;
  }
}

class Status implements Conversation {
  readonly liveUntil = null;
  readonly shown: LiveEvent[] = [];
  superseded_ = 0;
  async showStatus(event: LiveEvent): Promise<void> {
    this.shown.push(event);
  }
  async liveEnding(): Promise<void> {}
  async superseded(): Promise<void> {
    this.superseded_ += 1;
  }
}

/** Records every final reply, with whether it went through the status this process held. */
class Recorder implements Messenger<Json, string, Status> {
  readonly platform = 'slack' as const;
  readonly replies: { id: string; withStatus: boolean }[] = [];
  readTarget(replyTo: Json): Json | null {
    return replyTo;
  }
  open(): Status {
    return new Status();
  }
  reattach(): string | null {
    return null;
  }
  async deliver(view: RequestView, _target: Json, status: Status | null): Promise<void> {
    this.replies.push({ id: view.id, withStatus: status !== null });
  }
}

interface Line {
  readonly msg: string | undefined;
  readonly obj: Record<string, unknown>;
}

function bot(requests: Requests, replies: Recorder, tuning: { headStartMs?: number; sweepMinAgeMs?: number } = {}) {
  const lines: Line[] = [];
  const keep = (obj: object, msg?: string) => void lines.push({ msg, obj: obj as Record<string, unknown> });
  const logger: Logger = { debug: keep, info: keep, warn: keep, error: keep };
  const service = new ScriptedService(requests);
  const engine = new DeliveryEngine(service as unknown as GenerationService, replies, logger, {
    statusIntervalMs: 10,
    ownerHeadStartMs: tuning.headStartMs ?? 50,
    sweepEveryMs: 20,
    sweepMinAgeMs: tuning.sweepMinAgeMs ?? 0,
  });
  /** Waits until `count` attempts at a final reply for `id` have settled in this process. */
  const settled = async (id: string, count: number): Promise<Line[]> => {
    const of = () => lines.filter((l) => l.msg === 'final delivery settled' && l.obj['requestId'] === id);
    const deadline = Date.now() + 5_000;
    while (of().length < count) {
      if (Date.now() > deadline) throw new Error(`only ${of().length} settled attempts for ${id}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return of();
  };
  return { engine, service, lines, settled };
}

describe('DeliveryEngine', () => {
  it('answers once when the owner, the platform-wide event, a resync and another process all try', async () => {
    const requests = new Requests();
    const replies = new Recorder();
    const owner = bot(requests, replies);
    const other = bot(requests, replies);
    await Promise.all([owner.engine.start(), other.engine.start()]);
    const status = owner.engine.track(ID, { to: 'u1' }, 'title')!;
    owner.service.watchers.get(ID)!({ type: 'queued', requestId: ID, position: 1 });
    while (status.shown.length === 0) await new Promise((r) => setTimeout(r, 5));
    owner.service.finished(ID);
    other.service.finished(ID);
    const [ownerAttempt] = await owner.settled(ID, 1);
    const [otherAttempt] = await other.settled(ID, 1);
    // A resync replays the final event after the reply went out: it must lose the claim.
    owner.service.platformListener!({ type: 'succeeded', requestId: ID, images: [] });
    const [, resync] = await owner.settled(ID, 2);
    await Promise.all([owner.engine.stop(), other.engine.stop()]);

    expect(replies.replies).toEqual([{ id: ID, withStatus: true }]);
    expect(ownerAttempt!.obj).toMatchObject({ outcome: 'sent', origins: ['owner', 'event'] });
    // The other process waited out the owner's head start, then found the reply claimed.
    expect(otherAttempt!.obj).toMatchObject({ outcome: 'claimed elsewhere', origins: ['event'] });
    expect(resync!.obj).toMatchObject({ outcome: 'claimed elsewhere' });
    expect(status.shown.map((e) => e.type)).toEqual(['queued']);
    expect(status.superseded_).toBe(0);
  });

  it('sweeps up a finished request nobody answered, once, and leaves young ones to their owners', async () => {
    const requests = new Requests();
    const replies = new Recorder();
    const p = bot(requests, replies, { sweepMinAgeMs: 1_000 });
    requests.pending.push({ id: ID, finishedAt: new Date() });
    await p.engine.start();
    // The start-up sweep takes everything (no owner is left after a restart); here: nothing was left.
    await p.settled(ID, 1);
    const young = '00000000-0000-4000-8000-00000000000b';
    requests.pending.push({ id: young, finishedAt: new Date() });
    const sweeps = () => p.lines.filter((l) => l.msg === 'delivery sweep settled').length;
    const before = sweeps();
    while (sweeps() < before + 2) await new Promise((r) => setTimeout(r, 5));
    expect(replies.replies.map((r) => r.id)).toEqual([ID]);
    // Once it is older than the owner's grace, a sweep answers it.
    await p.settled(young, 1);
    const after = sweeps();
    while (sweeps() < after + 2) await new Promise((r) => setTimeout(r, 5));
    await p.engine.stop();
    expect(replies.replies.map((r) => r.id)).toEqual([ID, young]);
  });

  it('a process that did not submit a request yields to its owner, and a stopping one leaves it for the next', async () => {
    const requests = new Requests();
    const replies = new Recorder();
    const p = bot(requests, replies, { headStartMs: 10_000 });
    await p.engine.start();
    p.service.finished(ID);
    await p.engine.stop();
    const [attempt] = await p.settled(ID, 1);
    expect(attempt!.obj).toMatchObject({ outcome: 'stopping' });
    expect(requests.delivered.size).toBe(0);
    expect(replies.replies).toEqual([]);
  });

  it('never answers a forgotten request (the user was told why), but spends its claim', async () => {
    const requests = new Requests();
    const replies = new Recorder();
    const p = bot(requests, replies);
    await p.engine.start();
    p.engine.track(ID, { to: 'u1' }, 'title');
    p.engine.forget(ID);
    p.service.finished(ID);
    const [attempt] = await p.settled(ID, 1);
    await p.engine.stop();
    expect(attempt!.obj).toMatchObject({ outcome: 'muted' });
    expect(replies.replies).toEqual([]);
    expect(requests.delivered.has(ID)).toBe(true);
  });
});
