/**
 * The service adapters call. Discord, Slack, the web API and the CLI only translate their
 * platform's gestures into these calls and render the events back; all persistence, limits,
 * queueing and cross-process progress live behind this interface.
 *
 * One `GenerationService` instance exists per process (built by src/main.ts, handed to adapters).
 * It works the same in every ROLE: submit/read/watch go through Postgres, so a bot process and the
 * worker processes that run its jobs may live on different machines.
 */
import type {
  ImageIndex,
  Json,
  NoiseDemoParams,
  Platform,
  RequestEventListener,
  RequestKind,
  RequestView,
  Requester,
} from './types.ts';
import type { GenerationParams } from '../engine/types.ts';
import type { ComparisonRecords } from './comparison-records.ts';

export * from './types.ts';

export interface SubmitGenerationInput {
  readonly requester: Requester;
  /** Raw user parameters: { model, sampler, steps, seed?, count?, options? }. Validated by engine.validate. Omitted seed = random. */
  readonly params: unknown;
  /**
   * Adapter-specific data needed to reply later (interaction token, channel + thread ts, ...). Stored as jsonb.
   * A string `dedupeKey` in it makes the submission idempotent per requester: a second request with the
   * same key, from any process, throws DuplicateRequestError (platform redeliveries).
   */
  readonly replyTo: Json;
}

export interface SubmitNoiseDemoInput {
  readonly requester: Requester;
  /** Raw { model, seed?, timesteps?, denoiseFrom? }; validated here. */
  readonly params: unknown;
  /** Optional input image (PNG/JPEG/WebP bytes); the model's own sample is used otherwise. */
  readonly image?: Buffer | undefined;
  readonly replyTo: Json;
}

/** An image an edit starts from: image `index` of a finished request (anyone's, as reroll), or an uploaded image. */
export type ImageSource = { readonly requestId: string; readonly index: number } | { readonly image: Buffer };

export interface SubmitVariationInput {
  readonly requester: Requester;
  /** The image to vary. */
  readonly source: ImageSource;
  /**
   * Raw { strength? (0.1..0.9, default 0.5), seed? (of the added noise; random if omitted), count?, sampler?,
   * steps?, options?, model?, label?, guidance? }. From a request, its model, sampler, steps, options, label
   * and guidance are the defaults (another sampler starts from its own default steps and options).
   */
  readonly params: unknown;
  readonly replyTo: Json;
}

export interface SubmitInterpolationInput {
  readonly requester: Requester;
  /**
   * Raw { seed_a, seed_b, frames? (2..16, default 8), model?, sampler?, steps?, options?, label?, guidance? },
   * or for class-conditional models { label_a, label_b, seed?, frames?, ... }: one seed between two labels.
   * The sampler must be deterministic (ddim at eta 0). With `from`: { seed_b, frames?, ... } and no seed_a.
   */
  readonly params: unknown;
  /**
   * The first end as an image instead of seed_a: it is inverted to its x_T with the request's sampler and steps
   * (from a request, its model, sampler, steps, options, label and guidance are the defaults, as for a variation).
   */
  readonly from?: ImageSource | undefined;
  readonly replyTo: Json;
}

export interface SubmitInversionInput {
  readonly requester: Requester;
  /** The image to invert. */
  readonly source: ImageSource;
  /**
   * Raw { model?, sampler?, steps?, options?, label?, guidance? } (no seed or count: nothing is drawn); the
   * sampler must be able to invert (ddim at eta 0). From a request, its parameters are the defaults.
   */
  readonly params: unknown;
  readonly replyTo: Json;
}

export interface SubmitInterpolationBetweenInput {
  readonly requester: Requester;
  /** A finished generation (anyone's, as reroll): the first frame is its seed's image. */
  readonly from: string;
  /** A finished generation of the requester's, of the same model and label: the last frame is its seed's image. */
  readonly to: string;
  /** 2..16, default 8. */
  readonly frames?: number | undefined;
  readonly replyTo: Json;
}

export interface Submitted {
  readonly id: string;
  /** 1 = next to run. */
  readonly position: number;
}

export interface ReplayOverrides {
  readonly sampler?: string;
  readonly steps?: number;
  readonly options?: Record<string, unknown>;
  readonly count?: number;
  /**
   * Also store the denoising animation (image 'gif'): the first image's predicted x_0 at up to 59
   * evenly spaced steps, then the final image. Recorded by the worker, so it has every frame however
   * fast the job runs. Generations only.
   */
  readonly recordTrajectory?: boolean;
}

export interface StoredImage {
  readonly bytes: Buffer;
  readonly contentType: 'image/png' | 'image/gif';
  readonly sha256: string;
}

export interface GenerationService {
  /**
   * Validates (engine.validate; ValidationError naming the field), applies limits (RateLimitError with
   * retryAfterSeconds and a user-facing message), stores the request with its seed and enqueues it.
   * Returns the new id and the queue position (1 = next).
   */
  submitGeneration(input: SubmitGenerationInput): Promise<Submitted>;

  /**
   * The parameters submitGeneration would store (defaults filled), or the ValidationError it would
   * throw: its one check, for front ends that must answer before they reply publicly (Discord) or
   * before a form closes (Slack's modal). Stores nothing.
   */
  checkGeneration(params: unknown): GenerationParams;

  /** Same contract as submitGeneration for a forward-noising demo (grid PNG + GIF result). */
  submitNoiseDemo(input: SubmitNoiseDemoInput): Promise<Submitted>;

  /**
   * SDEdit variations of one image (a result's or an upload); same contract as submitGeneration, plus
   * NotFoundError for an unknown source request and ValidationError('source' | 'index' | 'image') for a source
   * without that image. The image's bytes are stored with the request, which stays reproducible.
   */
  submitVariation(input: SubmitVariationInput): Promise<Submitted>;

  /**
   * Frames morphing one seed's image into another's (or one label into another, or an image's inversion into a
   * seed's image); images 0..frames-1, 'grid' the strip, 'gif'.
   */
  submitInterpolation(input: SubmitInterpolationInput): Promise<Submitted>;

  /**
   * "Interpolate with…": frames from `from`'s seed to `to`'s, with `from`'s sampler, steps and options when that
   * sampler can interpolate (the default sampler otherwise). NotFoundError for an unknown request,
   * ForbiddenError when `to` is someone else's, ValidationError when the pair breaks the rules of
   * interpolate-between.ts (kinds, model, label).
   */
  submitInterpolationBetween(input: SubmitInterpolationBetweenInput): Promise<Submitted>;

  /**
   * DDIM inversion (section 5.4) of one image and its reconstruction: image 0 the source as the model sees it,
   * 'reconstruction', 'grid' both side by side; the view's `inversion.psnr` once it succeeded. Same contract as
   * submitVariation.
   */
  submitInversion(input: SubmitInversionInput): Promise<Submitted>;

  /** The request with status, parameters, seed, timings and image refs; null if unknown. */
  getRequest(id: string): Promise<RequestView | null>;

  /** The requester's most recent requests, newest first (limit capped at 100). */
  listRecentRequests(requester: Requester, limit?: number): Promise<RequestView[]>;

  /** Same parameters as `id` with a fresh random seed, submitted for `requester`. */
  reroll(id: string, requester: Requester, replyTo: Json): Promise<Submitted>;

  /**
   * Same seed (and parameters) as `id`, optionally with another sampler / steps / options, submitted
   * for `requester`. Without overrides the images are byte-identical to the original's.
   */
  replay(id: string, requester: Requester, replyTo: Json, overrides?: ReplayOverrides): Promise<Submitted>;

  /** Cancels a queued request (running ones are aborted at the next step). Only its requester may. Returns whether it changed. */
  cancel(id: string, requester: Requester): Promise<boolean>;

  /** Deletes a finished request with its images, for good. Only its requester may; false while it is queued or running. */
  deleteRequest(id: string, requester: Requester): Promise<boolean>;

  /**
   * Subscribes to one request's events from whichever process runs it. The current state is
   * delivered first (queued with position, running, or the final event if already finished), so a
   * late watcher never misses the end. Returns unsubscribe.
   */
  watch(id: string, listener: RequestEventListener): () => void;

  /**
   * Subscribes to events of every request of one platform (e.g. a bot delivering final replies for
   * requests it did not watch individually, or after a restart). Final events of requests whose
   * delivery was not claimed are offered again after a reconnect and every 30 s, so a final event
   * can arrive more than once: reply only when `claimDelivery` returns true. Returns unsubscribe.
   */
  watchPlatform(platform: Platform, listener: RequestEventListener): () => void;

  /**
   * Atomically marks the final reply of a finished request as delivered. Returns true for exactly one
   * caller across all processes and restarts; only that caller sends the final reply. False if already
   * claimed or not finished yet.
   */
  claimDelivery(id: string): Promise<boolean>;

  /**
   * Adds what an adapter learns after submitting (e.g. the status message it posted) to the request's
   * stored `replyTo`, top-level keys merged, so that a restarted bot can resume that message. Applies
   * only while the final reply is unclaimed and returns whether it did: a process that claims the reply
   * later reads the new keys, one that claimed it earlier never sees them.
   */
  amendReplyTo(id: string, fields: { readonly [key: string]: Json }): Promise<boolean>;

  /** Finished requests of `platform` whose final reply was never claimed (for a restarted bot), oldest first. */
  pendingDeliveries(platform: Platform, limit?: number): Promise<RequestView[]>;

  /** Queued or running requests of `platform` (a restarted bot re-attaches watchers to them). */
  activeRequests(platform: Platform): Promise<RequestView[]>;

  /** Image bytes: index 0..count-1, 'grid' (all images, labelled; a single image's grid is the image), 'gif' / 'reconstruction' (noise demo). Null if absent. */
  getImage(id: string, index: ImageIndex): Promise<StoredImage | null>;

  /** Current 1-based queue position of a queued request; null if not queued. */
  queuePosition(id: string): Promise<number | null>;

  /** The chat apps' comparisons (/compare), stored and leased to the bot process running each (src/jobs/comparisons.ts). */
  readonly comparisons: ComparisonRecords;
}

export type { RequestKind };
export type { NoiseDemoParams };
