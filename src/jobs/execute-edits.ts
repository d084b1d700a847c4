/**
 * Running a claimed variation or interpolation (always alone): the engine call with the stored
 * parameters, progress and previews like a generation's, and the images each keeps.
 */
import type { ClaimedRow, ImageRow } from '../db/queue-store.ts';
import { interpolationInfo, interpolationParams, variationInfo, variationParams } from './edits.ts';
import type { StepProgress } from './engine-port.ts';
import type { ExecuteDeps } from './execute.ts';
import { ProgressReporter, type ProgressOptions } from './progress.ts';
import { GIF_INDEX, GRID_INDEX } from './views.ts';

/** Variations: images 0..count-1, and the grid when there are several. */
export async function variation(row: ClaimedRow, deps: ExecuteDeps, options: ProgressOptions, signal: AbortSignal): Promise<ImageRow[]> {
  const info = variationInfo(row.kind, row.edit)!;
  if (!row.input_image) throw new Error(`variation ${row.id} has no stored source image`);
  const source = await deps.engine.sourceImage(row.model, new Uint8Array(row.input_image));
  const progress = new ProgressReporter([row], deps, options);
  const result = await deps.engine.vary(variationParams(row, info), source, (p) => progress.report(0, p), signal);
  await progress.flush();
  const images: ImageRow[] = [];
  for (let k = 0; k < row.count; k++) images.push({ index: k, contentType: 'image/png', data: await deps.render.imagePng(result.images, k) });
  if (row.count > 1) images.push({ index: GRID_INDEX, contentType: 'image/png', data: await deps.render.batchPng(result.images) });
  return images;
}

/** Interpolations: frames 0..frames-1, the labelled strip as the grid, and the animation. */
export async function interpolation(row: ClaimedRow, deps: ExecuteDeps, options: ProgressOptions, signal: AbortSignal): Promise<ImageRow[]> {
  const params = interpolationParams(row, interpolationInfo(row.kind, row.edit)!);
  const progress = new ProgressReporter([row], deps, options);
  const report = (p: StepProgress) => progress.report(0, p);
  const result = 'seedA' in params ? await deps.engine.interpolate(params, report, signal) : await deps.engine.interpolateLabels(params, report, signal);
  await progress.flush();
  const images: ImageRow[] = [];
  for (let k = 0; k < row.count; k++) images.push({ index: k, contentType: 'image/png', data: await deps.render.imagePng(result.images, k) });
  images.push({ index: GRID_INDEX, contentType: 'image/png', data: result.stripPng }, { index: GIF_INDEX, contentType: 'image/gif', data: result.gif });
  return images;
}
