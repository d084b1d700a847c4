/**
 * Variations, interpolations and inversions as stored requests: the row each becomes (its own parameters in
 * the `edit` JSON column, the rest in the columns a generation uses), what a view or a worker reads back,
 * and the raw input a reroll or replay of one is validated from.
 *
 * A variation's `seed` is the seed of the noise added to its source image, which is copied into
 * `input_image` so the request reproduces even after its source is deleted. An interpolation's `seed`
 * and `label` are its first frame's; `edit.to` is its last frame's other seed or other label. An
 * interpolation from an image (`edit.from`) starts from that image's x_T instead: the image is stored in
 * `input_image` and inverted again by the worker (inversion is deterministic, so the latent needs no
 * storing), and its `seed` is the last frame's, equal to `edit.to.seed`. An inversion stores its source
 * the same way; it draws no noise, so its `seed` is 0.
 */
import type { Request as RequestRow } from '../db/generated/client.ts';
import { soloBatchKey } from './batch-key.ts';
import type { ImageInterpolationParams, InterpolationParams, InversionParams, LabelInterpolationParams, VariationParams } from './engine-port.ts';
import type { Draft } from './drafts.ts';
import { jsonRecord, type InterpolationInfo, type InversionInfo, type VariationInfo, type VariationSource } from './types.ts';

/** The columns every kind fills from the generation fields. */
function common(p: { model: string; sampler: string; steps: number; options: Readonly<Record<string, unknown>>; guidance: number | null }) {
  return {
    model: p.model,
    sampler: p.sampler,
    steps: p.steps,
    guidance: p.guidance,
    options: { ...p.options },
    noiseDemo: null,
    recordTrajectory: false,
  };
}

export function variationDraft(p: VariationParams, source: VariationSource, image: Buffer): Draft {
  const edit: VariationInfo = { strength: p.strength, source };
  return { ...common(p), kind: 'vary', label: p.label, seed: p.seed, count: p.count, edit: { ...edit }, inputImage: image, batchKey: soloBatchKey('vary', p.model) };
}

export function interpolationDraft(p: InterpolationParams | LabelInterpolationParams): Draft {
  const seeds = 'seedA' in p;
  const edit: InterpolationInfo = { frames: p.frames, to: seeds ? { seed: p.seedB } : { label: p.labelB } };
  return {
    ...common(p),
    kind: 'interpolate',
    label: seeds ? p.label : p.labelA,
    seed: seeds ? p.seedA : p.seed,
    count: p.frames,
    edit: { ...edit },
    inputImage: null,
    batchKey: soloBatchKey('interpolate', p.model),
  };
}

/** From `image` (inverted by the worker) to the image of `seedB`. */
export function imageInterpolationDraft(p: ImageInterpolationParams, from: VariationSource, image: Buffer): Draft {
  const edit: InterpolationInfo = { frames: p.frames, to: { seed: p.seedB }, from };
  return { ...common(p), kind: 'interpolate', label: p.label, seed: p.seedB, count: p.frames, edit: { ...edit }, inputImage: image, batchKey: soloBatchKey('interpolate', p.model) };
}

export function inversionDraft(p: InversionParams, source: VariationSource, image: Buffer): Draft {
  return { ...common(p), kind: 'invert', label: p.label, seed: 0, count: 1, edit: { source }, inputImage: image, batchKey: soloBatchKey('invert', p.model) };
}

function sourceOf(value: unknown): VariationSource {
  const source = jsonRecord(value);
  return typeof source.requestId === 'string' ? { requestId: source.requestId, index: Number(source.index) } : { upload: true };
}

/** What the row's `edit` holds for a variation; null for other kinds. */
export function variationInfo(kind: string, edit: unknown): VariationInfo | null {
  if (kind !== 'vary') return null;
  const e = jsonRecord(edit);
  return { strength: Number(e.strength), source: sourceOf(e.source) };
}

/** What the row's `edit` holds for an interpolation; null for other kinds. */
export function interpolationInfo(kind: string, edit: unknown): InterpolationInfo | null {
  if (kind !== 'interpolate') return null;
  const e = jsonRecord(edit);
  const to = jsonRecord(e.to);
  return {
    frames: Number(e.frames),
    to: typeof to.label === 'string' ? { label: to.label } : { seed: Number(to.seed) },
    ...(e.from === undefined ? {} : { from: sourceOf(e.from) }),
  };
}

/** What the row holds for an inversion (its source; its PSNR once it succeeded); null for other kinds. */
export function inversionInfo(kind: string, edit: unknown, result: unknown): InversionInfo | null {
  if (kind !== 'invert') return null;
  const psnr = jsonRecord(result).psnr;
  return { source: sourceOf(jsonRecord(edit).source), psnr: typeof psnr === 'number' ? psnr : null };
}

/** The engine's parameters of a claimed inversion row. */
export function inversionParams(row: StoredEdit): InversionParams {
  return { ...generationFields(row), label: row.label };
}

/** The engine's parameters of a claimed variation row. */
export function variationParams(row: StoredEdit, info: VariationInfo): VariationParams {
  return { ...generationFields(row), label: row.label, seed: Number(row.seed), count: row.count, strength: info.strength };
}

/** The engine's parameters of a claimed interpolation row: between two seeds, or between two labels. */
export function interpolationParams(row: StoredEdit, info: InterpolationInfo): InterpolationParams | LabelInterpolationParams | ImageInterpolationParams {
  const base = { ...generationFields(row), frames: info.frames };
  if (info.from && 'seed' in info.to) return { ...base, label: row.label, seedB: info.to.seed };
  if ('seed' in info.to) return { ...base, label: row.label, seedA: Number(row.seed), seedB: info.to.seed };
  return { ...base, seed: Number(row.seed), labelA: row.label ?? '', labelB: info.to.label, guidance: row.guidance ?? 1 };
}

/** The stored fields an edit's parameters are rebuilt from (a claimed row or a Prisma row). */
interface StoredEdit {
  readonly model: string;
  readonly sampler: string | null;
  readonly steps: number | null;
  readonly options: unknown;
  readonly label: string | null;
  readonly guidance: number | null;
  readonly seed: string | bigint | number;
  readonly count: number;
}

function generationFields(row: StoredEdit) {
  return { model: row.model, sampler: row.sampler ?? '', steps: row.steps ?? 0, options: jsonRecord(row.options), guidance: row.guidance };
}

/**
 * The raw input (as a user would give it) of a stored variation, interpolation or inversion with `seed` (for
 * an interpolation between seeds, `seeds`: both ends; from an image, `seeds[1]` is its one seed) and another
 * sampler, steps or options if asked.
 */
export function editInput(row: RequestRow, seeds: readonly [number, number], sampler: Record<string, unknown>): Record<string, unknown> {
  const labelled = row.label === null ? {} : { label: row.label, guidance: row.guidance ?? undefined };
  const info = variationInfo(row.kind, row.edit);
  if (info) return { model: row.model, ...sampler, ...labelled, seed: seeds[0], count: row.count, strength: info.strength };
  if (row.kind === 'invert') return { model: row.model, ...sampler, ...labelled };
  const between = interpolationInfo(row.kind, row.edit)!;
  if (between.from && 'seed' in between.to) return { model: row.model, ...sampler, ...labelled, seed_b: seeds[1], frames: between.frames };
  if ('seed' in between.to) return { model: row.model, ...sampler, ...labelled, seed_a: seeds[0], seed_b: seeds[1], frames: between.frames };
  return { model: row.model, ...sampler, guidance: row.guidance ?? undefined, seed: seeds[0], label_a: row.label, label_b: between.to.label, frames: between.frames };
}
