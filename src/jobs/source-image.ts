/**
 * The image an edit (variation, interpolation from an image, inversion) starts from: an upload,
 * decoded only once the user's limits have passed, or an image of a stored request, whose parameters
 * become the edit's defaults.
 */
import { findImage, findRequestRow } from '../db/request-store.ts';
import type { Request as RequestRow } from '../db/generated/client.ts';
import { ImageInputError, loadImageForModel } from '../render/input.ts';
import { rawObject, samplerFields } from './request-params.ts';
import type { ImageSource } from './service.ts';
import type { SubmitDeps } from './store-request.ts';
import { NotFoundError, ValidationError, type VariationSource } from './types.ts';

/**
 * The image an edit starts from and its raw parameters: an upload as given, or image `index` of a stored
 * request whose model, sampler, steps, options, label and guidance are the defaults under the input's.
 */
export async function imageInput(deps: SubmitDeps, source: ImageSource, params: unknown): Promise<{ raw: Record<string, unknown>; image: Buffer; from: VariationSource; derivedFrom: string | null }> {
  const raw = rawObject(params);
  if ('image' in source) return { raw, image: source.image, from: { upload: true }, derivedFrom: null };
  const row = await findRequestRow(deps.prisma, source.requestId);
  if (!row) throw new NotFoundError(`no request ${source.requestId}`);
  const image = await sourceImage(deps, row, source.index);
  const labelled = row.label === null || row.kind === 'noise_demo' ? {} : { label: row.label, guidance: row.guidance ?? undefined };
  return { raw: { model: row.model, ...labelled, ...raw, ...samplerFields(row, raw) }, image, from: { requestId: row.id, index: source.index }, derivedFrom: row.id };
}

/** An upload is decoded once the limits have passed; a stored request's image was decoded when it was made. */
export function uploadCheck(deps: SubmitDeps, source: ImageSource, model: string): (() => Promise<void>) | undefined {
  return 'image' in source ? decodeUpload(deps, source.image, model) : undefined;
}

/** The PNG of image `index` of a finished request, or a ValidationError saying what is missing. */
async function sourceImage(deps: SubmitDeps, row: RequestRow, index: number): Promise<Buffer> {
  if (row.status !== 'succeeded') throw new ValidationError('source', `request ${row.id} has no images to start from (it ${row.status === 'failed' || row.status === 'cancelled' ? 'was' : 'is'} ${row.status})`);
  const last = row.kind === 'noise_demo' || row.kind === 'invert' ? 0 : row.count - 1;
  if (!Number.isInteger(index) || index < 0 || index > last) {
    throw new ValidationError('index', `image index must be ${last === 0 ? '0' : `0..${last}`} for request ${row.id} (got ${index})`);
  }
  const image = await findImage(deps.prisma, row.id, index);
  if (!image || image.contentType !== 'image/png') throw new ValidationError('index', `request ${row.id} has no image ${index}`);
  return Buffer.from(image.data);
}

/**
 * Decodes an upload (size, format, pixel-count limits) so a bad one is a 400 naming the field, not a
 * failed job; run once the limits have passed, so a refused user costs no decoding.
 */
export function decodeUpload(deps: SubmitDeps, image: Buffer, model: string): () => Promise<void> {
  return async () => {
    try {
      await loadImageForModel(image, deps.engine.model(model).manifest.image);
    } catch (err) {
      if (err instanceof ImageInputError) throw new ValidationError('image', err.message);
      throw err;
    }
  };
}
