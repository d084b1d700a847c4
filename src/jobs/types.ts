/**
 * The vocabulary adapters (Discord, Slack, web, CLI) share with the job system. Everything here is
 * plain data so it can cross process boundaries (NOTIFY payloads, HTTP JSON) unchanged.
 */

import type { Request } from '../db/generated/client.ts';
import { Platform as PlatformValues, type RequestKind, type RequestStatus } from '../db/generated/enums.ts';

/** The schema's enums (prisma/schema.prisma), as string unions. */
export type Platform = (typeof PlatformValues)[keyof typeof PlatformValues];
export type { RequestKind, RequestStatus };
export const PLATFORMS: readonly Platform[] = Object.values(PlatformValues);

export const FINAL_STATUSES: readonly RequestStatus[] = ['succeeded', 'failed', 'cancelled'];

/**
 * Per-process counters of request life cycles: the process that accepts a request counts it
 * submitted, the process that moves it to a final state counts it finished (ops' Metrics is one).
 */
export interface RequestCounters {
  requestSubmitted(platform: Platform, kind: RequestKind): void;
  requestFinished(platform: Platform, kind: RequestKind, status: RequestStatus): void;
}

/** JSON as stored in Postgres `jsonb` (reply targets, sampler options). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A stored JSON value as an object; anything else as {}. */
export function jsonRecord(value: unknown): Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, Json>) : {};
}

/** Who asked. `workspaceId` is a Discord guild or Slack team; `channelId` is where they asked. */
export interface Requester {
  readonly platform: Platform;
  readonly workspaceId?: string | undefined;
  readonly channelId?: string | undefined;
  readonly userId: string;
}

/** Noise-demo parameters (the input image, if any, travels separately as bytes). */
export interface NoiseDemoParams {
  readonly model: string;
  readonly seed: number;
  readonly timesteps?: number[] | undefined;
  readonly denoiseFrom?: number | undefined;
}

/** The image a variation starts from: an image of a stored request, or one the user uploaded. */
export type VariationSource = { readonly requestId: string; readonly index: number } | { readonly upload: true };

/** A variation's own parameters; its noise seed, count, model, sampler and label are the request's. */
export interface VariationInfo {
  /** 0.1..0.9: the part of the schedule the image is noised into and denoised back from. */
  readonly strength: number;
  readonly source: VariationSource;
}

/**
 * An interpolation's own parameters: its first frame is the request's seed and label, its last frame `to`,
 * either another seed (the same label) or another label (the same seed, conditional models).
 */
export interface InterpolationInfo {
  readonly frames: number;
  readonly to: { readonly seed: number } | { readonly label: string };
  /** Set when the first frame is an image (stored in the request) inverted to its x_T, not the request's seed. */
  readonly from?: VariationSource;
}

/** An inversion's source and, once it succeeded, the reconstruction's PSNR in dB (null: identical to the source). */
export interface InversionInfo {
  readonly source: VariationSource;
  readonly psnr: number | null;
}

/**
 * Which stored image: 0..count-1 single images (an interpolation's frames); 'grid' the labelled grid of a
 * multi-image request (a noise demo's x_t frames, an interpolation's strip, an inversion's source beside its
 * reconstruction); 'gif' a noise demo's or an interpolation's animation; 'reconstruction' a noise demo's or an
 * inversion's denoised-back image. A noise demo's and an inversion's index 0 is its source image.
 */
export type ImageIndex = number | 'grid' | 'gif' | 'reconstruction';

export interface ImageRef {
  readonly index: ImageIndex;
  readonly contentType: 'image/png' | 'image/gif';
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * How long a request took: queueMs from created to first started, samplingMs inside the engine for
 * the successful attempt, totalMs from created to finished.
 */
export type RequestTimings = Readonly<Pick<Request, 'queueMs' | 'samplingMs' | 'totalMs'>>;

/**
 * A request as adapters see it: the row's columns in the row's own types (prisma/schema.prisma
 * documents them), plus what the service derives for adapters from the rest of the row.
 */
export type RequestView = Readonly<
  Pick<Request, 'id' | 'kind' | 'status' | 'model' | 'sampler' | 'steps' | 'label' | 'guidance' | 'count' | 'error' | 'attempts' | 'createdAt' | 'startedAt' | 'finishedAt' | 'deliveredAt'> & {
    requester: Requester;
    /** 0..2^32-1 as a number; stored as bigint. */
    seed: number;
    /** The sampler's options after validation (defaults filled in); format them generically (engine/options.ts optionPairs). */
    options: Readonly<Record<string, Json>>;
    /** Noise demo only. */
    noiseDemo: NoiseDemoParams | null;
    /** Variations only. */
    variation: VariationInfo | null;
    /** Interpolations only; `count` is its number of frames. */
    interpolation: InterpolationInfo | null;
    /** Inversions only. */
    inversion: InversionInfo | null;
    progress: { readonly step: number; readonly totalSteps: number } | null;
    timings: RequestTimings;
    /** Adapter-specific reply target given at submit time. */
    replyTo: Json;
    /** The request this one re-rolled or replayed, if any. */
    derivedFrom: string | null;
    images: readonly ImageRef[];
  }
>;

/** Events for one request, in order. Exactly one final event (succeeded | failed | cancelled). */
export type RequestEvent =
  | { readonly type: 'queued'; readonly requestId: string; readonly position: number }
  | { readonly type: 'running'; readonly requestId: string; readonly attempt: number }
  | {
      readonly type: 'progress';
      readonly requestId: string;
      readonly step: number;
      readonly totalSteps: number;
      /** PNG of the predicted x_0 after this step, when the worker produced one. */
      readonly previewPng: Buffer | null;
    }
  | { readonly type: 'succeeded'; readonly requestId: string; readonly images: readonly ImageRef[] }
  | { readonly type: 'failed'; readonly requestId: string; readonly error: string }
  | { readonly type: 'cancelled'; readonly requestId: string };

export type RequestEventListener = (event: RequestEvent) => void;

/** A parameter was invalid; `field` names it (e.g. "steps", "options.<name>"). HTTP maps it to 400. */
export { ValidationError } from '../engine/errors.ts';

export type RateLimitReason = 'concurrent' | 'hourly' | 'queue_full';

/** The request was refused by a limit; retry after `retryAfterSeconds`. HTTP maps it to 429 + Retry-After. */
export class RateLimitError extends Error {
  override readonly name = 'RateLimitError';
  constructor(
    readonly retryAfterSeconds: number,
    readonly reason: RateLimitReason,
    message: string,
  ) {
    super(message);
  }
}

/** No such request (or image). HTTP maps it to 404. */
/**
 * A request with this `replyTo.dedupeKey` already exists for the requester (a platform redelivered
 * the same gesture, possibly to another process). Adapters drop the repeat silently.
 */
export class DuplicateRequestError extends Error {
  override readonly name = 'DuplicateRequestError';
  constructor(readonly requestId: string) {
    super(`request ${requestId} was already submitted for this gesture`);
  }
}

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** The requester may not act on this request (e.g. cancel someone else's). HTTP maps it to 403. */
export class ForbiddenError extends Error {
  override readonly name = 'ForbiddenError';
}
