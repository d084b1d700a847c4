/** Generating the evaluation's samples through the engine, exactly as users receive them. */
import type { Tensor } from '../core/tensor.ts';
import { concatBatch } from '../core/tensor.ts';
import type { Engine } from '../engine/index.ts';
import { fromPixels, toPixels } from '../render/index.ts';

/** Generated images as the user receives them: quantized to 8 bits, then back to [-1, 1]. */
export function quantized(images: Tensor): Tensor {
  return concatBatch(Array.from({ length: images.shape[0]! }, (_, i) => fromPixels(toPixels(images, i))));
}

/**
 * One image per raw request (the params `ddpm-bot generate` takes, count 1), run as ONNX batches of
 * `batch` requests; returns the quantized images in request order and the wall time of the whole set.
 */
export async function generateSet(engine: Engine, requests: readonly Record<string, unknown>[], batch: number): Promise<{ images: Tensor; seconds: number }> {
  const images: Tensor[] = [];
  const started = performance.now();
  for (let done = 0; done < requests.length; done += batch) {
    const params = requests.slice(done, done + batch).map((r) => engine.validate(r));
    images.push(...(await engine.generateBatch(params)).map((r) => r.images));
  }
  const seconds = (performance.now() - started) / 1000;
  return { images: quantized(concatBatch(images)), seconds };
}
