/**
 * Runs a claimed batch through the engine and encodes what each request keeps: its images, a grid
 * when it has several, the animation when asked for, or a noise demo's frames. Variations,
 * interpolations and inversions run in execute-edits.ts.
 */
import type { ClaimedRow, ImageRow, RunOutput } from '../db/queue-store.ts';
import type { EnginePort, GenerationParams, RenderPort } from './engine-port.ts';
import { GIF_INDEX, GRID_INDEX, RECONSTRUCTION_INDEX } from './views.ts';
import { interpolation, inversion, numberedPngs, variation } from './execute-edits.ts';
import { ProgressReporter, TrajectoryRecorder, type ProgressDeps, type ProgressOptions } from './progress.ts';

/** What a worker runs: everything of the engine but the submit-side validation. */
export type WorkerEngine = Pick<EnginePort, 'generateBatch' | 'noiseDemo' | 'sourceImage' | 'vary' | 'interpolate' | 'interpolateLabels' | 'interpolateFromImage' | 'invert'>;

export interface ExecuteDeps extends ProgressDeps {
  readonly engine: WorkerEngine;
  readonly render: RenderPort;
}

/** What each request of `rows` keeps, in order. */
export async function execute(rows: readonly ClaimedRow[], deps: ExecuteDeps, options: ProgressOptions, signal: AbortSignal): Promise<RunOutput[]> {
  const first = rows[0]!;
  if (first.kind === 'noise_demo') return [{ images: await noiseDemo(first, deps) }];
  if (first.kind === 'vary') return [{ images: await variation(first, deps, options, signal) }];
  if (first.kind === 'interpolate') return [{ images: await interpolation(first, deps, options, signal) }];
  if (first.kind === 'invert') return [await inversion(first, deps, options, signal)];
  const params: GenerationParams[] = rows.map((r) => ({
    model: r.model,
    sampler: r.sampler ?? '',
    steps: r.steps ?? 0,
    seed: Number(r.seed),
    count: r.count,
    options: r.options,
    label: r.label,
    guidance: r.guidance,
  }));
  const progress = new ProgressReporter(rows, deps, options);
  const trajectories = rows.map((r) => (r.record_trajectory ? new TrajectoryRecorder(deps.render) : null));
  const results = await deps.engine.generateBatch(
    params,
    (i, p) => {
      progress.report(i, p);
      trajectories[i]?.record(p);
    },
    signal,
  );
  return progress.flushDuring(async () => {
    const out: RunOutput[] = [];
    for (let i = 0; i < results.length; i++) {
      const count = params[i]!.count;
      const encoded = await numberedPngs(deps.render, results[i]!.images, count, count > 1);
      const trajectory = trajectories[i];
      if (trajectory) encoded.push({ index: GIF_INDEX, contentType: 'image/gif', data: await trajectory.gif(encoded[0]!.data) });
      out.push({ images: encoded });
    }
    return out;
  });
}

/** Noise demos are claimed one at a time. */
async function noiseDemo(row: ClaimedRow, deps: ExecuteDeps): Promise<ImageRow[]> {
  const nd = row.noise_demo ?? {};
  const result = await deps.engine.noiseDemo({
    model: row.model,
    seed: Number(row.seed),
    ...(row.input_image ? { image: new Uint8Array(row.input_image) } : {}),
    ...(nd.timesteps ? { timesteps: nd.timesteps } : {}),
    ...(nd.denoiseFrom !== undefined ? { denoiseFrom: nd.denoiseFrom } : {}),
  });
  const images: ImageRow[] = [
    { index: 0, contentType: 'image/png', data: result.sourcePng },
    { index: GRID_INDEX, contentType: 'image/png', data: result.gridPng },
    { index: GIF_INDEX, contentType: 'image/gif', data: result.gif },
  ];
  if (result.reconstructionPng) images.push({ index: RECONSTRUCTION_INDEX, contentType: 'image/png', data: result.reconstructionPng });
  return images;
}
