/**
 * Rows as adapters see them: RequestView, image references (stored indices -1/-2/-3 named 'grid',
 * 'gif', 'reconstruction'), and the final event a finished request stands for.
 */
import type { ImageMeta, RequestWithImages } from '../db/request-store.ts';
import { interpolationInfo, inversionInfo, variationInfo } from './edits.ts';
import { jsonRecord, type ImageIndex, type ImageRef, type Json, type RequestEvent, type RequestView } from './types.ts';

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

/** The stored index of an image name or number; null for names that do not exist. */
export function storedIndex(index: ImageIndex): number | null {
  const i = typeof index === 'number' ? index : SPECIAL_INDEX[index];
  return i !== undefined && Number.isInteger(i) ? i : null;
}

/** Numbered images first, then grid, animation, reconstruction. */
export function imageRefs(images: readonly ImageMeta[]): ImageRef[] {
  return [...images]
    .sort((a, b) => (a.index < 0 ? 1000 - a.index : a.index) - (b.index < 0 ? 1000 - b.index : b.index))
    .map((row) => ({
      index: INDEX_NAME.get(row.index) ?? row.index,
      contentType: row.contentType === 'image/gif' ? 'image/gif' : 'image/png',
      bytes: row.bytes,
      sha256: row.sha256,
    }));
}

export function toRequestView(row: RequestWithImages): RequestView {
  const nd = row.noiseDemo as { timesteps?: number[]; denoiseFrom?: number } | null;
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    requester: { platform: row.platform, workspaceId: row.workspaceId ?? undefined, channelId: row.channelId ?? undefined, userId: row.userId },
    model: row.model,
    sampler: row.sampler,
    steps: row.steps,
    label: row.label,
    guidance: row.guidance,
    seed: Number(row.seed),
    count: row.count,
    options: jsonRecord(row.options),
    noiseDemo: row.kind === 'noise_demo' ? { model: row.model, seed: Number(row.seed), timesteps: nd?.timesteps, denoiseFrom: nd?.denoiseFrom } : null,
    variation: variationInfo(row.kind, row.edit),
    interpolation: interpolationInfo(row.kind, row.edit),
    inversion: inversionInfo(row.kind, row.edit, row.result),
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
    images: imageRefs(row.images),
  };
}

export function finalEventOf(v: RequestView): RequestEvent | null {
  switch (v.status) {
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

export function isFinal(e: RequestEvent): boolean {
  return e.type === 'succeeded' || e.type === 'failed' || e.type === 'cancelled';
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(id: string): boolean {
  return UUID_RE.test(id);
}
