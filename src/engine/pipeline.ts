/**
 * The denoising loop, written once (DDPMPipeline / DDIMPipeline, and diffusers' generic loop for
 * samplers with input scaling): x_T = randn((count, C, H, W)) in one call from each request's seed,
 * times the sampler's initNoiseSigma if it has one; then for each timestep t:
 * prediction = model(sampler.scaleModelInput(x, t) or x, t); x = sampler.step(prediction, t, x), repeated
 * at the same t while the step asks for another evaluation. Several requests can share one ONNX batch:
 * each keeps its own generator, so every request gets exactly the images it would get alone.
 */
import type { NoiseSource } from '../core/rng.ts';
import { TorchGenerator } from '../core/rng.ts';
import type { Sampler, StepOutput } from '../core/sampler.ts';
import type { Tensor } from '../core/tensor.ts';
import { concatBatch, numel, sliceBatch } from '../core/tensor.ts';

/** What the loop needs from a model: one batched forward pass (one class label per image for a conditional model). */
export interface Denoiser {
  predict(sample: Tensor, timestep: number, classLabels?: readonly number[]): Promise<Tensor>;
}

/** Per image of a batch: its class label (the null class for none) and its guidance scale (1 for none). */
export interface Guidance {
  readonly labels: readonly number[];
  readonly scales: readonly number[];
  readonly nullClass: number;
}

/**
 * Classifier-free guidance (Ho & Salimans 2022) the way diffusers' DiTPipeline batches it: the
 * conditional rows and, only for images that need it (a label and a scale other than 1), the same
 * rows again with the null label, in ONE forward pass; then eps = eps_uncond + s * (eps_cond - eps_uncond).
 * Unguided images (scale 1, or 0: unconditional) cost one row, guided ones two. Float32 rounding as
 * torch does it, so PNGs match.
 */
export function guidedDenoiser(model: Denoiser, guidance: Guidance): Denoiser {
  const { scales, nullClass } = guidance;
  // Scale 0 is exactly the unconditional prediction: one null-label row, no pair.
  const labels = guidance.labels.map((label, i) => (scales[i] === 0 ? nullClass : label));
  const guided = labels.flatMap((label, i) => (label !== nullClass && scales[i] !== 1 ? [i] : []));
  return {
    async predict(sample: Tensor, timestep: number): Promise<Tensor> {
      const n = sample.shape[0]!;
      if (labels.length !== n) throw new Error(`guidance for ${labels.length} images applied to a batch of ${n}`);
      if (guided.length === 0) return model.predict(sample, timestep, labels);
      const input = concatBatch([sample, ...guided.map((i) => sliceBatch(sample, i, i + 1))]);
      const out = await model.predict(input, timestep, [...labels, ...guided.map(() => nullClass)]);
      const per = numel(sample.shape.slice(1));
      const eps = out.data.slice(0, n * per);
      guided.forEach((i, k) => {
        const s = Math.fround(scales[i]!);
        const cond = i * per;
        const uncond = (n + k) * per;
        for (let j = 0; j < per; j++) {
          const u = out.data[uncond + j]!;
          eps[cond + j] = u + Math.fround(s * Math.fround(out.data[cond + j]! - u));
        }
      });
      return { data: eps, shape: sample.shape };
    },
  };
}

export interface BatchMember {
  readonly seed: number;
  readonly count: number;
}

/**
 * Noise for a batch of requests: a draw of shape [N, ...] is split into each request's
 * [count_i, ...] draw from that request's own generator, in request order.
 */
export class PerRequestNoise implements NoiseSource {
  readonly generators: TorchGenerator[];

  constructor(private readonly members: readonly BatchMember[]) {
    this.generators = members.map((m) => new TorchGenerator(m.seed));
  }

  get batchSize(): number {
    return this.members.reduce((n, m) => n + m.count, 0);
  }

  randn(shape: readonly number[]): Float32Array {
    const rest = shape.slice(1);
    if (shape[0] !== this.batchSize) {
      throw new Error(`noise of batch ${shape[0]} asked for a batch of ${this.batchSize} images`);
    }
    const out = new Float32Array(numel(shape));
    let offset = 0;
    this.members.forEach((m, i) => {
      const part = this.generators[i]!.randn([m.count, ...rest]);
      out.set(part, offset);
      offset += part.length;
    });
    return out;
  }
}

export interface LoopStep {
  readonly index: number;
  readonly timestep: number;
  readonly sample: Tensor;
  readonly predOriginalSample: Tensor;
}

export interface LoopResult {
  readonly sample: Tensor;
  readonly modelMs: number;
  readonly totalMs: number;
}

/**
 * Runs `sampler` over `timesteps` from `start` (x_T as drawn from N(0, I): the loop applies the sampler's
 * initNoiseSigma). `onStep` sees every finished timestep (the batch as a whole); `modelMs` counts every
 * model evaluation, extra ones requested by `evaluateAgain` included.
 */
export async function denoise(
  model: Denoiser,
  sampler: Sampler,
  start: Tensor,
  timesteps: readonly number[],
  noise: NoiseSource,
  onStep?: (step: LoopStep) => void,
  signal?: AbortSignal,
): Promise<LoopResult> {
  const began = performance.now();
  let modelMs = 0;
  let sample = sampler.initNoiseSigma === undefined ? start : scaled(start, sampler.initNoiseSigma);
  for (const [index, t] of timesteps.entries()) {
    let out: StepOutput;
    do {
      signal?.throwIfAborted();
      const input = sampler.scaleModelInput ? sampler.scaleModelInput(sample, t) : sample;
      const forwardStart = performance.now();
      const prediction = await model.predict(input, t);
      modelMs += performance.now() - forwardStart;
      out = sampler.step(prediction, t, sample, noise);
      sample = out.prevSample;
    } while (out.evaluateAgain === true);
    onStep?.({ index, timestep: t, sample, predOriginalSample: out.predOriginalSample });
  }
  return { sample, modelMs, totalMs: performance.now() - began };
}

/** x * s in float32 (torch's `latents * init_noise_sigma`), as a new tensor. */
function scaled(x: Tensor, s: number): Tensor {
  const sigma = Math.fround(s);
  return { data: x.data.map((v) => v * sigma), shape: x.shape };
}

/** x_T for a batch: each request's ONE randn((count, C, H, W)) call, concatenated. */
export function initialNoise(noise: PerRequestNoise, members: readonly BatchMember[], imageShape: readonly number[]): Tensor {
  return concatBatch(
    members.map((m, i) => ({ data: noise.generators[i]!.randn([m.count, ...imageShape]), shape: [m.count, ...imageShape] })),
  );
}

/** Request i's images [start, end) inside the batch. */
export function memberRange(members: readonly BatchMember[], i: number): [number, number] {
  const start = members.slice(0, i).reduce((n, m) => n + m.count, 0);
  return [start, start + members[i]!.count];
}

export function memberSlice(t: Tensor, members: readonly BatchMember[], i: number): Tensor {
  const [start, end] = memberRange(members, i);
  return sliceBatch(t, start, end);
}
