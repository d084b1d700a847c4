/**
 * The adapter's shared vocabulary (tuning), in a module of its own so that
 * context, delivery, messages and results can all use it without importing each other in a circle.
 */
import type { SweepTuning } from '../../delivery/engine.ts';
import { DEFAULT_DELIVERY_TUNING } from '../../delivery/engine.ts';

export interface AdapterTuning {
  /** Minimum time between edits of one request's message (Discord allows ~5 edits / 5 s per token). */
  readonly previewIntervalMs: number;
  /** Interaction token lifetime (Discord: 15 minutes); tests shorten it. */
  readonly interactionTokenTtlMs: number;
  /** Before the token expires, tell the user the result will come as a channel message. */
  readonly expiryNoticeLeadMs: number;
  readonly download: { readonly timeoutMs: number; readonly maxBytes: number };
  /** Final replies: the owner's head start and the sweep for lost notifications (tests shorten them). */
  readonly delivery: SweepTuning;
}

export const DEFAULT_TUNING: AdapterTuning = {
  previewIntervalMs: 1_500,
  interactionTokenTtlMs: 15 * 60_000,
  expiryNoticeLeadMs: 60_000,
  download: { timeoutMs: 15_000, maxBytes: 10 * 1024 * 1024 },
  delivery: DEFAULT_DELIVERY_TUNING,
};
