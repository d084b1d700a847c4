/**
 * Running a claimed variation, interpolation or inversion (always alone): the engine call with the stored
 * parameters, progress and previews like a generation's, and the images each keeps.
 */
import { concatBatch, type Tensor } from '../core/tensor.ts';
import type { ClaimedRow, ImageRow, RunOutput } from '../db/queue-store.ts';
import { interpolationInfo, interpolationParams, inversionParams, variationInfo, variationParams } from './edits.ts';
import type { EnginePort, RenderPort, StepProgress } from './engine-port.ts';
import { ProgressReporter, type ProgressDeps, type ProgressOptions } from './progress.ts';
import { GIF_INDEX, GRID_INDEX, RECONSTRUCTION_INDEX } from './views.ts';

/** What an edit runs with (execute.ts passes its own deps, a superset). */
export interface EditDeps extends ProgressDeps {
  readonly engine: Pick<EnginePort, 'sourceImage' | 'vary' | 'interpolate' | 'interpolateLabels' | 'interpolateFromImage' | 'invert'>;
  readonly render: RenderPort;
}

/** Images 0..count-1 of a batch as PNG rows, and with `grid` the whole batch as one more. */
export async function numberedPngs(render: RenderPort, images: Tensor, count: number, grid: boolean): Promise<ImageRow[]> {
  const rows: ImageRow[] = [];
  for (let k = 0; k < count; k++) rows.push({ index: k, contentType: 'image/png', data: await render.imagePng(images, k) });
  if (grid) rows.push({ index: GRID_INDEX, contentType: 'image/png', data: await render.batchPng(images) });
  return rows;
}

/** Variations: images 0..count-1, and the grid when there are several. */
export async function variation(row: ClaimedRow, deps: EditDeps, options: ProgressOptions, signal: AbortSignal): Promise<ImageRow[]> {
  const info = variationInfo(row.kind, row.edit)!;
  const source = await storedSource(row, deps);
  const progress = new ProgressReporter([row], deps, options);
  const result = await deps.engine.vary(variationParams(row, info), source, (p) => progress.report(0, p), signal);
  return progress.flushDuring(() => numberedPngs(deps.render, result.images, row.count, row.count > 1));
}

/** The request's stored source image as the model-space tensor the engine takes. */
async function storedSource(row: ClaimedRow, deps: EditDeps) {
  if (!row.input_image) throw new Error(`${row.kind} ${row.id} has no stored source image`);
  return deps.engine.sourceImage(row.model, new Uint8Array(row.input_image));
}

/** Interpolations: frames 0..frames-1, the labelled strip as the grid, and the animation. */
export async function interpolation(row: ClaimedRow, deps: EditDeps, options: ProgressOptions, signal: AbortSignal): Promise<ImageRow[]> {
  const params = interpolationParams(row, interpolationInfo(row.kind, row.edit)!);
  const progress = new ProgressReporter([row], deps, options);
  const report = (p: StepProgress) => progress.report(0, p);
  const result =
    'seedA' in params
      ? await deps.engine.interpolate(params, report, signal)
      : 'labelA' in params
        ? await deps.engine.interpolateLabels(params, report, signal)
        : await deps.engine.interpolateFromImage(params, await storedSource(row, deps), report, signal);
  return progress.flushDuring(async () => [
    ...(await numberedPngs(deps.render, result.images, row.count, false)),
    { index: GRID_INDEX, contentType: 'image/png', data: result.stripPng },
    { index: GIF_INDEX, contentType: 'image/gif', data: result.gif },
  ]);
}

/**
 * Inversions: the source as the model sees it (index 0), its reconstruction, both side by side as the grid,
 * and the reconstruction's PSNR as the result (null when identical: JSON has no Infinity).
 */
export async function inversion(row: ClaimedRow, deps: EditDeps, options: ProgressOptions, signal: AbortSignal): Promise<RunOutput> {
  const source = await storedSource(row, deps);
  const progress = new ProgressReporter([row], deps, options);
  const result = await deps.engine.invert(inversionParams(row), source, (p) => progress.report(0, p), signal);
  const images = await progress.flushDuring(async (): Promise<ImageRow[]> => [
    { index: 0, contentType: 'image/png', data: await deps.render.imagePng(source) },
    { index: RECONSTRUCTION_INDEX, contentType: 'image/png', data: await deps.render.imagePng(result.reconstruction) },
    { index: GRID_INDEX, contentType: 'image/png', data: await deps.render.batchPng(concatBatch([source, result.reconstruction])) },
  ]);
  return { images, result: { psnr: Number.isFinite(result.psnr) ? result.psnr : null } };
}
