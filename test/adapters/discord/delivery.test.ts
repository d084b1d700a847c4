/**
 * Discord delivery's timing rules with scripted events and a slow Discord, deterministic where
 * the end-to-end tests depend on real timing: live edits never overlap, respect the interval after
 * the previous edit finished, never land after the final reply; the final reply is sent once and
 * only by the process that wins the claim; a token about to expire is announced and the result goes
 * to the channel. (The same paths run end to end in the *.e2e tests against the real service.)
 */
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TUNING } from '../../../src/adapters/discord/types.ts';
import type { DiscordDelivery } from '../../../src/adapters/discord/delivery.ts';
import { discordDelivery } from '../../../src/adapters/discord/delivery.ts';
import type { Messenger, OutgoingMessage, ReplyTarget } from '../../../src/adapters/discord/reply-target.ts';
import { Engine } from '../../../src/engine/index.ts';
import type { GenerationService, RequestEvent, RequestEventListener, RequestView, StoredImage } from '../../../src/jobs/service.ts';

const REQUEST_ID = '00000000-0000-4000-8000-000000000001';
let engine: Engine;
let png: Buffer;

beforeAll(async () => {
  engine = await Engine.load({ modelsDir: 'test/fixtures' });
  png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).png().toBuffer();
});

afterAll(async () => {
  await engine?.close();
});

function view(status: RequestView['status']): RequestView {
  return {
    id: REQUEST_ID,
    kind: 'generate',
    status,
    requester: { platform: 'discord', userId: 'u1' },
    model: 'tiny',
    sampler: 'ddim',
    steps: 40,
    label: null,
    guidance: null,
    seed: 1,
    count: 1,
    options: { eta: 0 },
    variation: null,
    interpolation: null,
    inversion: null,
    noiseDemo: null,
    progress: null,
    error: null,
    attempts: 1,
    createdAt: new Date(),
    startedAt: new Date(),
    finishedAt: new Date(),
    timings: { queueMs: 1, samplingMs: 2, totalMs: 3 },
    replyTo: null,
    deliveredAt: null,
    derivedFrom: null,
    images: [],
  };
}

/** Events come from the test; claims succeed `claims` times (other processes win the rest). */
class ScriptedService implements Partial<GenerationService> {
  listener: RequestEventListener | null = null;
  claims: number;
  claimsAsked = 0;
  target: ReplyTarget | null = null;

  constructor(claims = 1) {
    this.claims = claims;
  }

  emit(event: RequestEvent): void {
    this.listener?.(event);
  }

  watch(_id: string, listener: RequestEventListener): () => void {
    this.listener = listener;
    return () => (this.listener = null);
  }
  watchPlatform(): () => void {
    return () => undefined;
  }
  async activeRequests(): Promise<RequestView[]> {
    return [];
  }
  async pendingDeliveries(): Promise<RequestView[]> {
    return [];
  }
  async claimDelivery(): Promise<boolean> {
    this.claimsAsked += 1;
    if (this.claims <= 0) return false;
    this.claims -= 1;
    return true;
  }
  async getRequest(): Promise<RequestView | null> {
    return { ...view('succeeded'), replyTo: this.target ? { ...this.target } : null };
  }
  async getImage(): Promise<StoredImage | null> {
    return { bytes: png, contentType: 'image/png', sha256: '' };
  }
}

interface RecordedEdit {
  readonly title: string;
  readonly start: number;
  readonly end: number;
}

/** A Discord whose preview uploads are slow. */
class SlowMessenger implements Messenger {
  readonly edits: RecordedEdit[] = [];
  readonly channel: OutgoingMessage[] = [];
  private inFlight = 0;
  overlapped = false;

  tokenUsable(target: ReplyTarget): boolean {
    return target.tokenExpiresAt - Date.now() > 20;
  }

  async editOriginal(_target: ReplyTarget, message: OutgoingMessage): Promise<void> {
    const start = Date.now();
    this.inFlight += 1;
    if (this.inFlight > 1) this.overlapped = true;
    const slow = message.files?.some((f) => f.name === 'preview.png') ?? false;
    await new Promise((resolve) => setTimeout(resolve, slow ? 60 : 5));
    this.inFlight -= 1;
    this.edits.push({ title: String(message.embeds?.[0]?.title ?? ''), start, end: Date.now() });
  }

  async followUp(): Promise<string> {
    throw new Error('these deliveries make no follow-ups');
  }

  async sendToChannel(_channelId: string, message: OutgoingMessage): Promise<void> {
    this.channel.push(message);
  }
}

function target(expiresInMs: number): ReplyTarget {
  return { v: 1, applicationId: '1', interactionToken: 't', tokenExpiresAt: Date.now() + expiresInMs, channelId: 'c1', userId: 'u1', purpose: 'generate' };
}

function manager(service: ScriptedService, messenger: SlowMessenger, tuning: Partial<typeof DEFAULT_TUNING> = {}): DiscordDelivery {
  return discordDelivery({
    service: service as unknown as GenerationService,
    catalog: engine,
    messenger,
    logger: pino({ level: 'silent' }),
    tuning: { ...DEFAULT_TUNING, previewIntervalMs: 100, ...tuning },
  });
}

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('Discord delivery', () => {
  it('serialises and spaces live edits, and the final reply is the last edit', async () => {
    const service = new ScriptedService();
    const messenger = new SlowMessenger();
    const deliveries = manager(service, messenger);
    service.target = target(15 * 60_000);
    deliveries.track(REQUEST_ID, service.target, view('queued'));
    service.emit({ type: 'queued', requestId: REQUEST_ID, position: 2 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    // An unchanged position is not worth an edit; events between edits coalesce to the latest.
    service.emit({ type: 'queued', requestId: REQUEST_ID, position: 2 });
    service.emit({ type: 'running', requestId: REQUEST_ID, attempt: 1 });
    for (let step = 1; step <= 40; step++) {
      service.emit({ type: 'progress', requestId: REQUEST_ID, step, totalSteps: 40, previewPng: png });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // The final event arrives while a slow preview upload may still be under way.
    service.emit({ type: 'succeeded', requestId: REQUEST_ID, images: [] });
    await until(() => messenger.edits.some((e) => e.title.startsWith('✨')));
    await deliveries.stop();

    expect(messenger.overlapped).toBe(false);
    expect(messenger.edits.at(-1)!.title).toBe('✨ Done');
    expect(messenger.edits.filter((e) => e.title.startsWith('✨'))).toHaveLength(1);
    const live = messenger.edits.slice(0, -1);
    expect(live[0]!.title).toBe('⏳ Queued: position 2');
    expect(live.filter((e) => e.title.startsWith('⏳'))).toHaveLength(1);
    expect(live.filter((e) => e.title.startsWith('🌀 Denoising')).length).toBeGreaterThanOrEqual(2);
    expect(live.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < live.length; i++) expect(live[i]!.start - live[i - 1]!.end).toBeGreaterThanOrEqual(95);
    // 40 progress events in ~0.4 s of slow uploads: a handful of edits, not 40.
    expect(live.length).toBeLessThan(10);
  });

  it('sends nothing final when another process won the claim', async () => {
    const service = new ScriptedService(0);
    const messenger = new SlowMessenger();
    const deliveries = manager(service, messenger);
    service.target = target(15 * 60_000);
    deliveries.track(REQUEST_ID, service.target, view('running'));
    service.emit({ type: 'succeeded', requestId: REQUEST_ID, images: [] });
    // stop() waits for the delivery that lost the claim, so anything it sent would be recorded by now.
    await until(() => service.claimsAsked > 0);
    await deliveries.stop();
    expect(messenger.edits).toEqual([]);
    expect(messenger.channel).toEqual([]);
  });

  it('announces an expiring token, then delivers to the channel with one mention', async () => {
    const service = new ScriptedService();
    const messenger = new SlowMessenger();
    const deliveries = manager(service, messenger, { expiryNoticeLeadMs: 200 });
    service.target = target(300);
    deliveries.track(REQUEST_ID, service.target, view('running'));
    await until(() => messenger.edits.some((e) => e.title === '🕰️ Still working'));
    // After the notice no more live edits, even though progress continues.
    service.emit({ type: 'progress', requestId: REQUEST_ID, step: 5, totalSteps: 40, previewPng: png });
    // The result comes once the token is gone, so it must go to the channel.
    await until(() => !messenger.tokenUsable(service.target!));
    service.emit({ type: 'succeeded', requestId: REQUEST_ID, images: [] });
    await until(() => messenger.channel.length > 0);
    await deliveries.stop();
    expect(messenger.edits.map((e) => e.title)).toEqual(['🕰️ Still working']);
    expect(messenger.channel).toHaveLength(1);
    expect(messenger.channel[0]!.content).toBe('<@u1> your image is ready');
    expect(messenger.channel[0]!.allowedMentions).toEqual({ users: ['u1'] });
  });
});
