/**
 * The GenerationService implementation (see service.ts for the contract adapters rely on).
 *
 * Submission is one Postgres transaction: a per-user advisory lock serialises that user's
 * submissions so limits cannot be raced, then the row is inserted; the row is the job (workers
 * claim it from the requests table), so a request exists exactly when its job does.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from '../db/client.ts';
import { withTransaction } from '../db/client.ts';
import type { Request as RequestRow } from '../db/generated/client.ts';
import { ImageInputError, loadImageForModel } from '../render/input.ts';
import type { EventBus, BusMessage } from './bus.ts';
import type { EnginePort, GenerationParams } from './engine-port.ts';
import { checkLimits, type LimitConfig } from './limits.ts';
import { batchKeyOf, noiseDemoBatchKey } from './batch-key.ts';
import type {
  GenerationService,
  ReplayOverrides,
  StoredImage,
  SubmitGenerationInput,
  SubmitNoiseDemoInput,
  Submitted,
  WatchOptions,
} from './service.ts';
import {
  DuplicateRequestError,
  FINAL_STATUSES,
  ForbiddenError,
  NotFoundError,
  ValidationError,
  type ImageIndex,
  type ImageRef,
  type Json,
  type NoiseDemoParams,
  type Platform,
  type RequestEvent,
  type RequestEventListener,
  type RequestCounters,
  type RequestStatus,
  type RequestView,
  type Requester,
} from './types.ts';

export const MAX_SEED = 2 ** 32 - 1;
/** Image index values stored for the non-numbered images. */
export const GRID_INDEX = -1;
export const GIF_INDEX = -2;
export const RECONSTRUCTION_INDEX = -3;

const SPECIAL_INDEX: Record<string, number> = { grid: GRID_INDEX, gif: GIF_INDEX, reconstruction: RECONSTRUCTION_INDEX };
const INDEX_NAME = new Map<number, 'grid' | 'gif' | 'reconstruction'>([
  [GRID_INDEX, 'grid'],
  [GIF_INDEX, 'gif'],
  [RECONSTRUCTION_INDEX, 'reconstruction'],
]);

export function userKeyOf(r: Requester): string {
  return `${r.platform}:${r.workspaceId ?? ''}:${r.userId}`;
}

export function randomSeed(): number {
  return randomInt(0, 2 ** 32 - 1);
}

const noiseDemoSchema = z
  .object({
    model: z.string().min(1),
    seed: z.number().int().min(0).max(MAX_SEED).optional(),
    timesteps: z.array(z.number().int().min(0)).min(1).max(32).optional(),
    denoiseFrom: z.number().int().min(1).optional(),
  })
  .strict();

/** Errors from engine.validate carry the offending field (ParamError); zod errors carry a path. */
function toValidationError(err: unknown): ValidationError | null {
  if (err instanceof ValidationError) return err;
  if (err instanceof z.ZodError) {
    const issue = err.issues[0];
    return new ValidationError(issue?.path.join('.') || 'params', issue?.message ?? 'invalid parameters');
  }
  if (err instanceof Error && typeof (err as { field?: unknown }).field === 'string') {
    return new ValidationError((err as Error & { field: string }).field, err.message);
  }
  return null;
}

function jsonRecord(value: unknown): Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, Json>) : {};
}

function imageRefFromRow(row: { index: number; contentType: string; bytes: number; sha256: string }): ImageRef {
  return {
    index: INDEX_NAME.get(row.index) ?? row.index,
    contentType: row.contentType === 'image/gif' ? 'image/gif' : 'image/png',
    bytes: row.bytes,
    sha256: row.sha256,
  };
}

type ImageMeta = { index: number; contentType: string; bytes: number; sha256: string };

export function toRequestView(row: RequestRow, images: readonly ImageMeta[]): RequestView {
  const nd = row.noiseDemo as { timesteps?: number[]; denoiseFrom?: number } | null;
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    requester: { platform: row.platform, workspaceId: row.workspaceId ?? undefined, channelId: row.channelId ?? undefined, userId: row.userId },
    model: row.model,
    sampler: row.sampler,
    steps: row.steps,
    eta: row.eta,
    label: row.label,
    guidance: row.guidance,
    seed: Number(row.seed),
    count: row.count,
    options: jsonRecord(row.options),
    noiseDemo: row.kind === 'noise_demo' ? { model: row.model, seed: Number(row.seed), timesteps: nd?.timesteps, denoiseFrom: nd?.denoiseFrom } : null,
    progress: row.progressStep !== null && row.progressTotal !== null ? { step: row.progressStep, totalSteps: row.progressTotal } : null,
    error: row.error,
    attempts: row.attempts,
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    timings: { queueMs: row.queueMs, samplingMs: row.samplingMs, totalMs: row.totalMs },
    replyTo: (row.replyTo ?? null) as Json,
    deliveredAt: row.deliveredAt,
    derivedFrom: row.derivedFromId,
    images: [...images].sort((a, b) => (a.index < 0 ? 1000 - a.index : a.index) - (b.index < 0 ? 1000 - b.index : b.index)).map(imageRefFromRow),
  };
}

const IMAGE_META = { index: true, contentType: true, bytes: true, sha256: true } as const;

interface NewRequest {
  readonly kind: 'generate' | 'noise_demo';
  readonly requester: Requester;
  readonly model: string;
  readonly sampler: string | null;
  readonly steps: number | null;
  readonly eta: number | null;
  readonly label: string | null;
  readonly guidance: number | null;
  readonly seed: number;
  readonly count: number;
  readonly options: Record<string, unknown>;
  readonly noiseDemo: Record<string, unknown> | null;
  readonly inputImage: Buffer | null;
  readonly batchKey: string;
  readonly replyTo: Json;
  readonly derivedFromId: string | null;
  readonly recordTrajectory: boolean;
}

export interface JobServiceDeps {
  readonly db: Database;
  readonly bus: EventBus;
  /** Only validate and models are used on the submitting side. */
  readonly engine: Pick<EnginePort, 'validate' | 'model'>;
  readonly limits: LimitConfig;
  readonly log: Logger;
  /** How often watchers re-read state to catch a final event whose NOTIFY was lost (default 30 s). */
  readonly resyncIntervalMs?: number;
  readonly counters?: RequestCounters;
}

export class JobService implements GenerationService {
  private readonly db: Database;
  private readonly bus: EventBus;
  private readonly engine: Pick<EnginePort, 'validate' | 'model'>;
  private readonly limits: LimitConfig;
  private readonly log: Logger;
  private readonly resyncIntervalMs: number;
  private readonly counters: RequestCounters | undefined;

  constructor(deps: JobServiceDeps) {
    this.counters = deps.counters;
    this.resyncIntervalMs = deps.resyncIntervalMs ?? 30_000;
    this.db = deps.db;
    this.bus = deps.bus;
    this.engine = deps.engine;
    this.limits = deps.limits;
    this.log = deps.log;
  }

  // ---- submission -------------------------------------------------------------------------

  private validateGeneration(raw: unknown): GenerationParams {
    try {
      return this.engine.validate(raw);
    } catch (err) {
      const v = toValidationError(err);
      if (v) throw v;
      throw err;
    }
  }

  async submitGeneration(input: SubmitGenerationInput): Promise<Submitted> {
    return this.submitValidatedGeneration(input.requester, this.validateGeneration(input.params), input.replyTo, null, false);
  }

  private async submitValidatedGeneration(
    requester: Requester,
    p: GenerationParams,
    replyTo: Json,
    derivedFromId: string | null,
    recordTrajectory: boolean,
  ): Promise<Submitted> {
    const eta = typeof p.options.eta === 'number' ? p.options.eta : null;
    return this.insertAndEnqueue({
      kind: 'generate',
      requester,
      model: p.model,
      sampler: p.sampler,
      steps: p.steps,
      eta,
      label: p.label,
      guidance: p.guidance,
      seed: p.seed,
      count: p.count,
      options: { ...p.options },
      noiseDemo: null,
      inputImage: null,
      batchKey: batchKeyOf(p),
      replyTo,
      derivedFromId,
      recordTrajectory,
    });
  }

  async submitNoiseDemo(input: SubmitNoiseDemoInput): Promise<Submitted> {
    let parsed: z.infer<typeof noiseDemoSchema>;
    try {
      parsed = noiseDemoSchema.parse(input.params);
      // Range checks need the model's schedule length; the engine re-checks when it runs.
      const T = this.engine.model(parsed.model).manifest.scheduler.num_train_timesteps;
      const bad = parsed.timesteps?.find((t) => t >= T);
      if (bad !== undefined) throw new ValidationError('timesteps', `timesteps must be integers in 0..${T - 1} (got ${bad})`);
      if (parsed.denoiseFrom !== undefined && parsed.denoiseFrom >= T) throw new ValidationError('denoiseFrom', `denoiseFrom must be an integer in 1..${T - 1}`);
    } catch (err) {
      const v = toValidationError(err);
      if (v) throw v;
      throw new ValidationError('model', err instanceof Error ? err.message : String(err));
    }
    const image = input.image;
    // Decoded (size, format, pixel-count limits) so a bad upload is a 400 naming the field, not a
    // failed job; only once the limits have passed, so a refused user costs no decoding.
    const decodeUpload = image
      ? async () => {
          try {
            await loadImageForModel(image, this.engine.model(parsed.model).manifest.image);
          } catch (err) {
            if (err instanceof ImageInputError) throw new ValidationError('image', err.message);
            throw err;
          }
        }
      : undefined;
    return this.submitValidatedNoiseDemo(input.requester, { ...parsed, seed: parsed.seed ?? randomSeed() }, image ?? null, input.replyTo, null, decodeUpload);
  }

  private async submitValidatedNoiseDemo(
    requester: Requester,
    p: NoiseDemoParams,
    image: Buffer | null,
    replyTo: Json,
    derivedFromId: string | null,
    afterLimits?: () => Promise<void>,
  ): Promise<Submitted> {
    const noiseDemo: Record<string, unknown> = {};
    if (p.timesteps) noiseDemo.timesteps = p.timesteps;
    if (p.denoiseFrom !== undefined) noiseDemo.denoiseFrom = p.denoiseFrom;
    return this.insertAndEnqueue({
      kind: 'noise_demo',
      requester,
      model: p.model,
      sampler: null,
      steps: null,
      eta: null,
      label: null,
      guidance: null,
      seed: p.seed,
      count: 1,
      options: {},
      noiseDemo,
      inputImage: image,
      batchKey: noiseDemoBatchKey(p.model),
      replyTo,
      derivedFromId,
      recordTrajectory: false,
    }, afterLimits);
  }

  /**
   * Inserts the row in one transaction, after the limits pass and then `afterLimits` (costly
   * checks): anything refused writes nothing.
   */
  private async insertAndEnqueue(r: NewRequest, afterLimits?: () => Promise<void>): Promise<Submitted> {
    const id = randomUUID();
    const userKey = userKeyOf(r.requester);
    const dedupeKey = dedupeKeyOf(r.replyTo);
    // The user's lock serialises their submissions, so two concurrent ones cannot both pass the
    // limits, and orders their timestamps, so the positions reported follow the queue's order.
    const position = await withTransaction(this.db.pool, async (client) => {
      if (dedupeKey !== null) {
        // Under the lock, so a redelivery to another process sees the first delivery's row (a unique index backs it up).
        const earlier = await client.query<{ id: string }>('SELECT id FROM requests WHERE user_key = $1 AND dedupe_key = $2', [userKey, dedupeKey]);
        if (earlier.rows[0]) throw new DuplicateRequestError(earlier.rows[0].id);
      }
      const { rows } = await client.query<{ active: number; last_hour: number; oldest: Date | null; queued: number }>(
        `SELECT
           (SELECT count(*)::int FROM requests WHERE user_key = $1 AND status IN ('queued', 'running')) AS active,
           (SELECT count(*)::int FROM requests WHERE user_key = $1 AND created_at > now() - interval '1 hour') AS last_hour,
           (SELECT min(created_at) FROM requests WHERE user_key = $1 AND created_at > now() - interval '1 hour') AS oldest,
           (SELECT count(*)::int FROM requests WHERE status = 'queued') AS queued`,
        [userKey],
      );
      const counts = rows[0]!;
      const refusal = checkLimits(
        { userActive: counts.active, userLastHour: counts.last_hour, oldestInHourAt: counts.oldest, queued: counts.queued },
        this.limits,
        new Date(),
      );
      if (refusal) throw refusal;
      await afterLimits?.();
      await insertRequestRow(client, id, userKey, dedupeKey, r);
      return await queuePositionOn(client, id);
    }, { lockKey: userKey });
    this.publish({ t: 'queued', id, p: r.requester.platform, pos: position ?? 1 });
    this.counters?.requestSubmitted(r.requester.platform, r.kind);
    return { id, position: position ?? 1 };
  }

  private publish(message: BusMessage): void {
    this.bus.publish(message).catch((err: unknown) => this.log.warn({ err, id: message.id }, 'could not publish event'));
  }

  // ---- reading ----------------------------------------------------------------------------

  async getRequest(id: string): Promise<RequestView | null> {
    if (!isUuid(id)) return null;
    const row = await this.db.prisma.request.findUnique({ where: { id }, include: { images: { select: IMAGE_META } } });
    return row ? toRequestView(row, row.images) : null;
  }

  async listRecentRequests(requester: Requester, limit = 10): Promise<RequestView[]> {
    const rows = await this.db.prisma.request.findMany({
      where: { userKey: userKeyOf(requester) },
      orderBy: { createdAt: 'desc' },
      take: Math.max(1, Math.min(100, limit)),
      include: { images: { select: IMAGE_META } },
    });
    return rows.map((r) => toRequestView(r, r.images));
  }

  async queuePosition(id: string): Promise<number | null> {
    if (!isUuid(id)) return null;
    return queuePositionOn(this.db.pool, id);
  }

  async getImage(id: string, index: ImageIndex): Promise<StoredImage | null> {
    if (!isUuid(id)) return null;
    const i = typeof index === 'number' ? index : SPECIAL_INDEX[index];
    if (i === undefined) return null;
    if (!Number.isInteger(i)) return null;
    const img = await this.db.prisma.requestImage.findUnique({ where: { requestId_index: { requestId: id, index: i } } });
    if (!img) {
      // A single-image request's grid is its only image.
      if (index === 'grid') return this.getImage(id, 0);
      return null;
    }
    return { bytes: Buffer.from(img.data), contentType: img.contentType === 'image/gif' ? 'image/gif' : 'image/png', sha256: img.sha256 };
  }

  // ---- derived requests -------------------------------------------------------------------

  private async original(id: string): Promise<RequestRow> {
    const row = isUuid(id) ? await this.db.prisma.request.findUnique({ where: { id } }) : null;
    if (!row) throw new NotFoundError(`no request ${id}`);
    return row;
  }

  async reroll(id: string, requester: Requester, replyTo: Json): Promise<Submitted> {
    const row = await this.original(id);
    return this.resubmit(row, requester, replyTo, randomSeed(), {});
  }

  async replay(id: string, requester: Requester, replyTo: Json, overrides: ReplayOverrides = {}): Promise<Submitted> {
    const row = await this.original(id);
    return this.resubmit(row, requester, replyTo, Number(row.seed), overrides);
  }

  private async resubmit(row: RequestRow, requester: Requester, replyTo: Json, seed: number, o: ReplayOverrides): Promise<Submitted> {
    if (row.kind === 'noise_demo') {
      const nd = jsonRecord(row.noiseDemo);
      const params: NoiseDemoParams = {
        model: row.model,
        seed,
        timesteps: Array.isArray(nd.timesteps) ? (nd.timesteps as number[]) : undefined,
        denoiseFrom: typeof nd.denoiseFrom === 'number' ? nd.denoiseFrom : undefined,
      };
      return this.submitValidatedNoiseDemo(requester, params, row.inputImage ? Buffer.from(row.inputImage) : null, replyTo, row.id);
    }
    const samplerChanged = o.sampler !== undefined && o.sampler !== row.sampler;
    // Options belong to a sampler: switching sampler starts from that sampler's defaults.
    const options = o.options ?? (samplerChanged ? {} : jsonRecord(row.options));
    const params = this.validateGeneration({
      model: row.model,
      sampler: o.sampler ?? row.sampler,
      steps: o.steps ?? (samplerChanged ? undefined : row.steps),
      seed,
      count: o.count ?? row.count,
      options,
      ...(row.label === null ? {} : { label: row.label, guidance: row.guidance ?? undefined }),
    });
    return this.submitValidatedGeneration(requester, params, replyTo, row.id, o.recordTrajectory ?? false);
  }

  // ---- cancellation and delivery ------------------------------------------------------------

  async cancel(id: string, requester: Requester): Promise<boolean> {
    const row = await this.original(id);
    if (row.userKey !== userKeyOf(requester)) throw new ForbiddenError('only the requester can cancel this request');
    const queued = await this.db.prisma.request.updateMany({
      where: { id, status: 'queued' },
      data: { status: 'cancelled', finishedAt: new Date(), error: 'cancelled by the requester' },
    });
    if (queued.count === 1) {
      this.publish({ t: 'cancelled', id, p: row.platform });
      this.counters?.requestFinished(row.platform, row.kind, 'cancelled');
      return true;
    }
    const running = await this.db.prisma.request.updateMany({ where: { id, status: 'running', cancelRequested: false }, data: { cancelRequested: true } });
    if (running.count === 1) this.publish({ t: 'abort', id });
    return running.count === 1;
  }

  async claimDelivery(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const res = await this.db.prisma.request.updateMany({
      where: { id, deliveredAt: null, status: { in: [...FINAL_STATUSES] } },
      data: { deliveredAt: new Date() },
    });
    return res.count === 1;
  }

  async pendingDeliveries(platform: Platform, limit = 50): Promise<RequestView[]> {
    const rows = await this.db.prisma.request.findMany({
      where: { platform, deliveredAt: null, status: { in: [...FINAL_STATUSES] } },
      orderBy: { finishedAt: 'asc' },
      take: Math.max(1, Math.min(500, limit)),
      include: { images: { select: IMAGE_META } },
    });
    return rows.map((r) => toRequestView(r, r.images));
  }

  async activeRequests(platform: Platform): Promise<RequestView[]> {
    const rows = await this.db.prisma.request.findMany({
      where: { platform, status: { in: ['queued', 'running'] } },
      orderBy: { createdAt: 'asc' },
      include: { images: { select: IMAGE_META } },
    });
    return rows.map((r) => toRequestView(r, r.images));
  }

  // ---- watching -----------------------------------------------------------------------------

  watch(id: string, listener: RequestEventListener, options: WatchOptions = {}): () => void {
    const sink = new EventSink(listener, options.minProgressIntervalMs ?? 0);
    const deliverCurrent = () =>
      sink.enqueue(async () => {
        const ev = await this.currentStateEvent(id);
        return ev ? [ev] : [];
      });
    const unsubscribe = this.bus.subscribe((m) => {
      if (m.id !== id || m.t === 'abort') return;
      sink.enqueue(async () => [await this.toEvent(m)]);
    });
    // Missed NOTIFYs while the listening connection was down: re-read the row; and now and then
    // anyway, so a final event whose NOTIFY was lost still arrives.
    const unReconnect = this.bus.onReconnect(deliverCurrent);
    const resync = setInterval(() => sink.enqueue(async () => {
      const ev = await this.currentStateEvent(id);
      return ev && isFinal(ev) ? [ev] : [];
    }), this.resyncIntervalMs);
    resync.unref();
    deliverCurrent();
    const unsubscribeAll = () => {
      clearInterval(resync);
      unsubscribe();
      unReconnect();
      sink.close();
    };
    sink.onFinal = unsubscribeAll;
    return unsubscribeAll;
  }

  watchPlatform(platform: Platform, listener: RequestEventListener, options: WatchOptions = {}): () => void {
    const sinks = new Map<string, EventSink>();
    const sinkFor = (id: string) => {
      let s = sinks.get(id);
      if (!s) {
        s = new EventSink(listener, options.minProgressIntervalMs ?? 0);
        s.onFinal = () => sinks.delete(id);
        sinks.set(id, s);
      }
      return s;
    };
    const unsubscribe = this.bus.subscribe((m) => {
      if (m.t === 'abort' || m.p !== platform) return;
      sinkFor(m.id).enqueue(async () => [await this.toEvent(m)]);
    });
    // Final events possibly missed (listener reconnected, NOTIFY lost): whatever is still
    // undelivered, after a reconnect and periodically. Unclaimed requests are offered again.
    const replayPending = () =>
      void this.pendingDeliveries(platform)
        .then((views) => {
          for (const v of views) {
            const ev = finalEventOf(v);
            if (ev) sinkFor(v.id).enqueue(async () => [ev]);
          }
        })
        .catch((err: unknown) => this.log.warn({ err }, 'could not re-read pending deliveries'));
    const unReconnect = this.bus.onReconnect(replayPending);
    const resync = setInterval(replayPending, this.resyncIntervalMs);
    resync.unref();
    return () => {
      clearInterval(resync);
      unsubscribe();
      unReconnect();
      for (const s of sinks.values()) s.close();
      sinks.clear();
    };
  }

  private async currentStateEvent(id: string): Promise<RequestEvent | null> {
    const view = await this.getRequest(id);
    if (!view) return null;
    const final = finalEventOf(view);
    if (final) return final;
    if (view.status === 'queued') return { type: 'queued', requestId: id, position: (await this.queuePosition(id)) ?? 1 };
    if (view.progress) return { type: 'progress', requestId: id, step: view.progress.step, totalSteps: view.progress.totalSteps, previewPng: null };
    return { type: 'running', requestId: id, attempt: view.attempts };
  }

  private async toEvent(m: Exclude<BusMessage, { t: 'abort' }>): Promise<RequestEvent> {
    switch (m.t) {
      case 'queued':
        return { type: 'queued', requestId: m.id, position: m.pos };
      case 'running':
        return { type: 'running', requestId: m.id, attempt: m.a };
      case 'progress': {
        let previewPng: Buffer | null = m.png ? Buffer.from(m.png, 'base64') : null;
        if (!previewPng && m.row) {
          const row = await this.db.prisma.request.findUnique({ where: { id: m.id }, select: { previewPng: true } });
          previewPng = row?.previewPng ? Buffer.from(row.previewPng) : null;
        }
        return { type: 'progress', requestId: m.id, step: m.s, totalSteps: m.n, previewPng };
      }
      case 'succeeded': {
        const images = await this.db.prisma.requestImage.findMany({ where: { requestId: m.id }, select: IMAGE_META });
        return { type: 'succeeded', requestId: m.id, images: toRequestViewImages(images) };
      }
      case 'failed':
        return { type: 'failed', requestId: m.id, error: m.e };
      case 'cancelled':
        return { type: 'cancelled', requestId: m.id };
    }
  }
}

function toRequestViewImages(images: readonly ImageMeta[]): ImageRef[] {
  return [...images].sort((a, b) => (a.index < 0 ? 1000 - a.index : a.index) - (b.index < 0 ? 1000 - b.index : b.index)).map(imageRefFromRow);
}

export function finalEventOf(v: RequestView): RequestEvent | null {
  switch (v.status as RequestStatus) {
    case 'succeeded':
      return { type: 'succeeded', requestId: v.id, images: v.images };
    case 'failed':
      return { type: 'failed', requestId: v.id, error: v.error ?? 'failed' };
    case 'cancelled':
      return { type: 'cancelled', requestId: v.id };
    default:
      return null;
  }
}

function isFinal(e: RequestEvent): boolean {
  return e.type === 'succeeded' || e.type === 'failed' || e.type === 'cancelled';
}

/**
 * Orders one request's events (async conversions run one at a time), drops everything after the
 * final event, and coalesces progress to at most one per interval (latest wins).
 */
class EventSink {
  private chain: Promise<void> = Promise.resolve();
  private finished = false;
  private closed = false;
  private lastProgressAt = 0;
  private lastStep = 0;
  private pendingProgress: RequestEvent | null = null;
  private timer: NodeJS.Timeout | null = null;
  onFinal: (() => void) | null = null;

  constructor(
    private readonly listener: RequestEventListener,
    private readonly minProgressIntervalMs: number,
  ) {}

  enqueue(produce: () => Promise<RequestEvent[]>): void {
    this.chain = this.chain
      .then(async () => {
        if (this.finished || this.closed) return;
        for (const ev of await produce()) this.offer(ev);
      })
      .catch(() => undefined);
  }

  private offer(ev: RequestEvent): void {
    if (this.finished || this.closed) return;
    // The initial state read and NOTIFYs can interleave: never show progress going backwards,
    // except when a new attempt starts over.
    if (ev.type === 'running' || ev.type === 'queued') this.lastStep = 0;
    if (ev.type === 'progress') {
      if (ev.step <= this.lastStep) return;
      this.lastStep = ev.step;
    }
    if (ev.type === 'progress' && this.minProgressIntervalMs > 0) {
      const wait = this.lastProgressAt + this.minProgressIntervalMs - Date.now();
      if (wait > 0) {
        this.pendingProgress = ev;
        this.timer ??= setTimeout(() => {
          this.timer = null;
          const p = this.pendingProgress;
          this.pendingProgress = null;
          if (p) this.emit(p);
        }, wait);
        return;
      }
    }
    // Anything emitted now supersedes a coalesced progress event still waiting for its slot.
    if (ev.type === 'progress' || isFinal(ev)) {
      this.pendingProgress = null;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
    }
    if (isFinal(ev)) this.finished = true;
    this.emit(ev);
    if (this.finished) this.onFinal?.();
  }

  private emit(ev: RequestEvent): void {
    if (this.closed) return;
    if (ev.type === 'progress') this.lastProgressAt = Date.now();
    try {
      this.listener(ev);
    } catch {
      // A throwing listener must not break delivery to others or the ordering chain.
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(id: string): boolean {
  return UUID_RE.test(id);
}

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

async function queuePositionOn(q: Queryable, id: string): Promise<number | null> {
  const { rows } = await q.query<{ position: number | null }>(
    `SELECT CASE WHEN r.status = 'queued' THEN
       (SELECT count(*)::int FROM requests o WHERE o.status = 'queued' AND (o.created_at, o.id) <= (r.created_at, r.id))
     END AS position
     FROM requests r WHERE r.id = $1`,
    [id],
  );
  return rows[0]?.position ?? null;
}

function dedupeKeyOf(replyTo: Json): string | null {
  if (typeof replyTo !== 'object' || replyTo === null || Array.isArray(replyTo)) return null;
  const key = replyTo['dedupeKey'];
  return typeof key === 'string' ? key : null;
}

async function insertRequestRow(client: pg.PoolClient, id: string, userKey: string, dedupeKey: string | null, r: NewRequest): Promise<void> {
  await client.query(
    `INSERT INTO requests (id, kind, status, platform, workspace_id, channel_id, user_id, user_key, model, sampler, steps, eta, seed, count,
       options, noise_demo, input_image, batch_key, reply_to, derived_from_id, dedupe_key, record_trajectory, label, guidance)
     VALUES ($1, $2::"RequestKind", 'queued', $3::"Platform", $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15::jsonb, $16, $17, $18::jsonb, $19, $20, $21, $22, $23)`,
    [
      id,
      r.kind,
      r.requester.platform,
      r.requester.workspaceId ?? null,
      r.requester.channelId ?? null,
      r.requester.userId,
      userKey,
      r.model,
      r.sampler,
      r.steps,
      r.eta,
      r.seed,
      r.count,
      JSON.stringify(r.options),
      r.noiseDemo === null ? null : JSON.stringify(r.noiseDemo),
      r.inputImage,
      r.batchKey,
      JSON.stringify(r.replyTo ?? null),
      r.derivedFromId,
      dedupeKey,
      r.recordTrajectory,
      r.label,
      r.guidance,
    ],
  );
}
