/**
 * Batched generation: requests that share model, sampler, steps and options denoised as one ONNX
 * batch, each from its own seed's noise (pipeline.ts), with per-request progress.
 */
import { isDeepStrictEqual } from 'node:util';
import { batchGuidance } from './conditioning.ts';
import { PerRequestNoise, denoise, guidedDenoiser, initialNoise, memberSlice } from './pipeline.ts';
import type { EngineParts } from './prepare.ts';
import type { GenerationParams, GenerationResult, StepProgress } from './types.ts';

/** Request i's images equal what a batch of `params[i]` alone returns (labels and guidance may differ). */
export async function generateBatch(
  parts: EngineParts,
  params: readonly GenerationParams[],
  onProgress?: (requestIndex: number, progress: StepProgress) => void,
  signal?: AbortSignal,
): Promise<GenerationResult[]> {
  const first = params[0];
  if (!first) return [];
  for (const p of params) {
    if (p.model !== first.model || p.sampler !== first.sampler || p.steps !== first.steps || !isDeepStrictEqual(p.options, first.options)) {
      throw new Error('a batch must share model, sampler, steps and options');
    }
  }
  const model = parts.model(first.model);
  const plugin = parts.sampler(first.sampler);
  const sampler = plugin.create(model.manifest.scheduler, first.options);
  sampler.setTimesteps(first.steps);
  const { channels, height, width } = model.manifest.image;
  const members = params.map((p) => ({ seed: p.seed, count: p.count }));
  const noise = new PerRequestNoise(members);
  const start = initialNoise(noise, members, [channels, height, width]);
  const session = await parts.denoiser(first.model);
  const conditioning = model.manifest.conditioning;
  const denoiser = conditioning ? guidedDenoiser(session, batchGuidance(conditioning, params)) : session;
  const totalSteps = sampler.timesteps.length;
  const result = await denoise(
    denoiser,
    sampler,
    start,
    sampler.timesteps,
    noise,
    onProgress &&
      ((step) =>
        params.forEach((_, i) =>
          onProgress(i, {
            step: step.index + 1,
            totalSteps,
            timestep: step.timestep,
            predictedX0: memberSlice(step.predOriginalSample, members, i),
          }),
        )),
    signal,
  );
  return params.map((p, i) => ({
    images: memberSlice(result.sample, members, i),
    seed: p.seed,
    samplingMs: result.totalMs,
    modelMs: result.modelMs,
  }));
}
