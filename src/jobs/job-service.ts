/**
 * The GenerationService adapters call (the contract is service.ts): a facade over submission
 * (submit.ts), events (watch.ts) and the request store (src/db/request-store.ts). Workers claim
 * what it stores; nothing here runs a job.
 */
import type { Logger } from '../ops/logger.ts';
import type { Database } from '../db/client.ts';
import * as store from '../db/request-store.ts';
import type { Request as RequestRow } from '../db/generated/client.ts';
import type { EventBus } from './bus.ts';
import type { GenerationParams } from './engine-port.ts';
import type { LimitConfig } from './limits.ts';
import type {
  GenerationService,
  ReplayOverrides,
  StoredImage,
  SubmitGenerationInput,
  SubmitInterpolationBetweenInput,
  SubmitInterpolationInput,
  SubmitInversionInput,
  SubmitNoiseDemoInput,
  SubmitVariationInput,
  Submitted,
} from './service.ts';
import type { ComparisonRecords } from './comparison-records.ts';
import { StoredComparisons } from './comparison-records.ts';
import { partnerRefusal } from './interpolate-between.ts';
import { userKeyOf, type SubmitEngine } from './store-request.ts';
import { Submitter } from './submit.ts';
import {
  ForbiddenError,
  NotFoundError,
  type ImageIndex,
  type Json,
  type Platform,
  type RequestCounters,
  type RequestEventListener,
  type RequestView,
  type Requester,
} from './types.ts';
import { isUuid, storedIndex, toRequestView } from './views.ts';
import { Watcher } from './watch.ts';

export interface JobServiceDeps {
  readonly db: Database;
  readonly bus: EventBus;
  readonly engine: SubmitEngine;
  readonly limits: LimitConfig;
  readonly log: Logger;
  /** How often watchers re-read state to catch a final event whose NOTIFY was lost (default 30 s). */
  readonly resyncIntervalMs?: number;
  /** Comparisons' leases: how long one lasts unrenewed and how often it is renewed (default: 30 s, every 10 s, as jobs'). */
  readonly comparisonLease?: { readonly leaseSeconds: number; readonly heartbeatMs: number };
  readonly counters?: RequestCounters;
}

export class JobService implements GenerationService {
  private readonly prisma: Database['prisma'];
  private readonly submitter: Submitter;
  private readonly watcher: Watcher;
  readonly comparisons: ComparisonRecords;

  constructor(private readonly deps: JobServiceDeps) {
    this.prisma = deps.db.prisma;
    const lease = deps.comparisonLease ?? { leaseSeconds: 30, heartbeatMs: 10_000 };
    this.comparisons = new StoredComparisons(this.prisma, lease.leaseSeconds, lease.heartbeatMs);
    this.submitter = new Submitter({ prisma: this.prisma, bus: deps.bus, engine: deps.engine, limits: deps.limits, log: deps.log, counters: deps.counters });
    this.watcher = new Watcher(this.prisma, deps.bus, this, deps.log, deps.resyncIntervalMs ?? 30_000);
  }

  submitGeneration(input: SubmitGenerationInput): Promise<Submitted> {
    return this.submitter.generation(input);
  }

  checkGeneration(params: unknown): GenerationParams {
    return this.submitter.check(params);
  }

  submitNoiseDemo(input: SubmitNoiseDemoInput): Promise<Submitted> {
    return this.submitter.noiseDemo(input);
  }

  submitVariation(input: SubmitVariationInput): Promise<Submitted> {
    if ('requestId' in input.source && !isUuid(input.source.requestId)) return Promise.reject(new NotFoundError(`no request ${input.source.requestId}`));
    return this.submitter.variation(input);
  }

  submitInterpolation(input: SubmitInterpolationInput): Promise<Submitted> {
    if (input.from && 'requestId' in input.from && !isUuid(input.from.requestId)) return Promise.reject(new NotFoundError(`no request ${input.from.requestId}`));
    return this.submitter.interpolation(input);
  }

  async submitInterpolationBetween(input: SubmitInterpolationBetweenInput): Promise<Submitted> {
    const from = await this.original(input.from);
    const to = await this.original(input.to);
    if (to.userKey !== userKeyOf(input.requester)) throw new ForbiddenError(`request ${to.id} is someone else's; interpolate with a request of your own`);
    const refusal = partnerRefusal(from, to);
    if (refusal) throw refusal;
    return this.submitter.interpolationBetween(from, to, input);
  }

  submitInversion(input: SubmitInversionInput): Promise<Submitted> {
    if ('requestId' in input.source && !isUuid(input.source.requestId)) return Promise.reject(new NotFoundError(`no request ${input.source.requestId}`));
    return this.submitter.inversion(input);
  }

  async reroll(id: string, requester: Requester, replyTo: Json): Promise<Submitted> {
    return this.submitter.resubmit(await this.original(id), requester, replyTo, true, {});
  }

  async replay(id: string, requester: Requester, replyTo: Json, overrides: ReplayOverrides = {}): Promise<Submitted> {
    return this.submitter.resubmit(await this.original(id), requester, replyTo, false, overrides);
  }

  private async original(id: string): Promise<RequestRow> {
    const row = isUuid(id) ? await store.findRequestRow(this.prisma, id) : null;
    if (!row) throw new NotFoundError(`no request ${id}`);
    return row;
  }

  /** The request `id` if `requester` made it; ForbiddenError naming `action` otherwise. */
  private async own(id: string, requester: Requester, action: 'cancel' | 'delete'): Promise<RequestRow> {
    const row = await this.original(id);
    if (row.userKey !== userKeyOf(requester)) throw new ForbiddenError(`only the requester can ${action} this request`);
    return row;
  }

  async getRequest(id: string): Promise<RequestView | null> {
    if (!isUuid(id)) return null;
    const row = await store.findRequest(this.prisma, id);
    return row ? toRequestView(row) : null;
  }

  async listRecentRequests(requester: Requester, limit = 10): Promise<RequestView[]> {
    const rows = await store.recentRequests(this.prisma, userKeyOf(requester), Math.max(1, Math.min(100, limit)));
    return rows.map(toRequestView);
  }

  async queuePosition(id: string): Promise<number | null> {
    return isUuid(id) ? store.queuePosition(this.prisma, id) : null;
  }

  async getImage(id: string, index: ImageIndex): Promise<StoredImage | null> {
    const i = storedIndex(index);
    if (!isUuid(id) || i === null) return null;
    const img = await store.findImage(this.prisma, id, i);
    if (!img) {
      // A single-image request's grid is its only image.
      if (index === 'grid') return this.getImage(id, 0);
      return null;
    }
    return { bytes: Buffer.from(img.data), contentType: img.contentType === 'image/gif' ? 'image/gif' : 'image/png', sha256: img.sha256 };
  }

  async cancel(id: string, requester: Requester): Promise<boolean> {
    const row = await this.own(id, requester, 'cancel');
    if (await store.cancelQueued(this.prisma, id, 'cancelled by the requester')) {
      this.publish({ t: 'cancelled', id, p: row.platform });
      this.deps.counters?.requestFinished(row.platform, row.kind, 'cancelled');
      return true;
    }
    // Running: its worker aborts it and ends the attempt as cancelled.
    const asked = await store.requestCancel(this.prisma, id);
    if (asked) this.publish({ t: 'abort', id });
    return asked;
  }

  /**
   * Removes the requester's own finished request, its images and attempts, for good; false while it is
   * queued or running (cancel it first). Requests rerolled from it keep their own copy of every parameter.
   */
  async deleteRequest(id: string, requester: Requester): Promise<boolean> {
    const row = await this.own(id, requester, 'delete');
    return store.deleteFinished(this.prisma, id, row.userKey);
  }

  async claimDelivery(id: string): Promise<boolean> {
    return isUuid(id) && store.claimDelivery(this.prisma, id);
  }

  async amendReplyTo(id: string, fields: { readonly [key: string]: Json }): Promise<boolean> {
    if ('dedupeKey' in fields) throw new Error('amendReplyTo: dedupeKey identifies the request and cannot change');
    return isUuid(id) && store.amendReplyTo(this.prisma, id, fields);
  }

  async pendingDeliveries(platform: Platform, limit = 50): Promise<RequestView[]> {
    return (await store.pendingDeliveries(this.prisma, platform, Math.max(1, Math.min(500, limit)))).map(toRequestView);
  }

  async activeRequests(platform: Platform): Promise<RequestView[]> {
    return (await store.activeRequests(this.prisma, platform)).map(toRequestView);
  }

  watch(id: string, listener: RequestEventListener): () => void {
    return this.watcher.watch(id, listener);
  }

  watchPlatform(platform: Platform, listener: RequestEventListener): () => void {
    return this.watcher.watchPlatform(platform, listener);
  }

  private publish(message: Parameters<EventBus['publish']>[0]): void {
    this.deps.bus.publish(message).catch((err: unknown) => this.deps.log.warn({ err, id: message.id }, 'could not publish event'));
  }
}
