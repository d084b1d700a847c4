/**
 * A fast, deterministic stand-in below the engine seam: images depend only on (seed, sampler,
 * steps, options, image index), like the real engine's, so batching and replay can be checked
 * byte for byte without ONNX. `stepMs` controls how long a job holds its lease.
 */
import { z } from 'zod';
import type { Tensor } from '../../../src/core/tensor.ts';
import { ValidationError } from '../../../src/engine/errors.ts';
import type {
  EnginePort,
  GenerationParams,
  GenerationResult,
  ImageInterpolationParams,
  InterpolationOutput,
  InterpolationParams,
  InversionParams,
  InversionResult,
  LabelInterpolationParams,
  ModelInfoPort,
  NoiseDemoInput,
  NoiseDemoResult,
  RenderPort,
  StepProgress,
  VariationParams,
} from '../../../src/jobs/engine-port.ts';


const paramsSchema = z
  .object({
    model: z.literal('fake'),
    sampler: z.enum(['ddpm', 'ddim']).default('ddim'),
    steps: z.number().int().min(1).max(100).default(4),
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(() => Math.floor(Math.random() * 2 ** 32)),
    count: z.number().int().min(1).max(16).default(1),
    options: z.object({ eta: z.number().min(0).max(1).default(0) }).strict().default({}),
    label: z.enum(['a', 'b']).optional(),
    guidance: z.number().min(0).max(20).optional(),
  })
  .strict()
  // Like the real engine: a label comes with a guidance scale (default 3).
  .transform(({ label, guidance, ...p }) => ({
    ...p,
    label: label ?? null,
    guidance: label === undefined ? null : (guidance ?? 3),
  }));

const SIZE = 4;

type EditMethods =
  | 'validateVariation'
  | 'validateInterpolation'
  | 'validateLabelInterpolation'
  | 'validateImageInterpolation'
  | 'validateInversion'
  | 'sourceImage'
  | 'vary'
  | 'interpolate'
  | 'interpolateLabels'
  | 'interpolateFromImage'
  | 'invert';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

export interface FakeEngineOptions {
  stepMs?: number;
}

/** Generations and noise demos. */
class FakeGenerations implements Omit<EnginePort, EditMethods> {
  /** Sizes of every generateBatch call, to observe micro-batching. */
  readonly batchSizes: number[] = [];
  /** Every request's parameters as the worker handed them over, in order. */
  readonly generated: GenerationParams[] = [];
  stepMs: number;

  constructor(options: FakeEngineOptions = {}) {
    this.stepMs = options.stepMs ?? 5;
  }

  model(name: string): ModelInfoPort {
    if (name !== 'fake') throw new ValidationError('model', `unknown model "${name}"`);
    return { name, manifest: { scheduler: { num_train_timesteps: 1000 }, image: { channels: 1, height: 8, width: 8 } } };
  }

  validate(params: unknown): GenerationParams {
    const r = paramsSchema.safeParse(params);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new ValidationError(issue.path.join('.') || 'params', issue.message);
    }
    return r.data;
  }

  async generateBatch(params: GenerationParams[], onProgress?: (i: number, p: StepProgress) => void, signal?: AbortSignal): Promise<GenerationResult[]> {
    this.batchSizes.push(params.length);
    this.generated.push(...params);
    const first = params[0]!;
    for (const p of params) {
      if (p.model !== first.model || p.sampler !== first.sampler || p.steps !== first.steps || JSON.stringify(p.options) !== JSON.stringify(first.options)) {
        throw new Error('batch mixes parameters');
      }
    }
    for (let step = 1; step <= first.steps; step++) {
      if (signal?.aborted) throw signal.reason;
      await new Promise((r) => setTimeout(r, this.stepMs));
      params.forEach((p, i) => onProgress?.(i, { step, totalSteps: p.steps, timestep: 1000 - step, predictedX0: imagesFor(p, step) }));
    }
    if (signal?.aborted) throw signal.reason;
    return params.map((p) => ({ images: imagesFor(p, p.steps), seed: p.seed, samplingMs: 0, modelMs: 0 }));
  }

  async noiseDemo(input: NoiseDemoInput): Promise<NoiseDemoResult> {
    const tag = `${input.model}:${input.seed}:${(input.timesteps ?? []).join(',')}:${input.image?.length ?? 0}`;
    return { timesteps: input.timesteps ?? [0], frames: [], gridPng: Buffer.from(`grid:${tag}`), gif: Buffer.from(`GIF89a:${tag}`), sourcePng: Buffer.from(`source:${tag}`) };
  }
}

/** Splits the edit fields (validated by `schema`) off raw input; the rest is validated as a generation. */
function editFields<T extends z.ZodTypeAny>(input: unknown, schema: T): [z.output<T>, Record<string, unknown>] {
  const raw = { ...(input as Record<string, unknown>) };
  const keys = Object.keys((schema as unknown as z.AnyZodObject).shape);
  const own = Object.fromEntries(keys.filter((k) => k in raw).map((k) => [k, raw[k]]));
  for (const k of keys) delete raw[k];
  const r = schema.safeParse(own);
  if (!r.success) throw new ValidationError(String(r.error.issues[0]!.path[0] ?? 'params'), r.error.issues[0]!.message);
  return [r.data, raw];
}

const strength = z.object({ strength: z.number().min(0.1).max(0.9).default(0.5) });
const seeds = z.object({ seed_a: z.number().int().min(0), seed_b: z.number().int().min(0), frames: z.number().int().min(2).max(16).default(8) });
const imageEnd = z.object({ seed_b: z.number().int().min(0), frames: z.number().int().min(2).max(16).default(8) });
const labels = z.object({ label_a: z.enum(['a', 'b']), label_b: z.enum(['a', 'b']), frames: z.number().int().min(2).max(16).default(8) });

/**
 * Variations, interpolations and inversions of the fake: images from the seeds (and the source image's bytes), no
 * steps. Its inversion reconstructs the source exactly but for the first value, so its PSNR depends on the source.
 */
export class FakeEngine extends FakeGenerations implements EnginePort {
  validateVariation(input: unknown): VariationParams {
    const [own, rest] = editFields(input, strength);
    return { ...this.validate(rest), strength: own.strength };
  }

  validateInterpolation(input: unknown): InterpolationParams {
    const [own, rest] = editFields(input, seeds);
    const { seed: _s, count: _c, ...p } = this.validate(rest);
    return { ...p, seedA: own.seed_a, seedB: own.seed_b, frames: own.frames };
  }

  validateLabelInterpolation(input: unknown): LabelInterpolationParams {
    const [own, rest] = editFields(input, labels);
    const { count: _c, label: _l, guidance, ...p } = this.validate({ ...rest, label: own.label_a });
    return { ...p, labelA: own.label_a, labelB: own.label_b, guidance: guidance!, frames: own.frames };
  }

  validateImageInterpolation(input: unknown): ImageInterpolationParams {
    const [own, rest] = editFields(input, imageEnd);
    const { seed: _s, count: _c, ...p } = this.validate(rest);
    return { ...p, seedB: own.seed_b, frames: own.frames };
  }

  validateInversion(input: unknown): InversionParams {
    const { seed: _s, count: _c, ...p } = this.validate(input);
    return p;
  }

  async sourceImage(_model: string, bytes: Uint8Array): Promise<Tensor> {
    return { data: Float32Array.from({ length: SIZE * SIZE }, (_, i) => (bytes[i % bytes.length]! / 127.5) - 1), shape: [1, 1, SIZE, SIZE] };
  }

  async vary(p: VariationParams, source: Tensor): Promise<GenerationResult> {
    const images = imagesFor({ ...p, seed: p.seed ^ hashString(`${p.strength}:${Array.from(source.data).join(',')}`) }, p.steps);
    return { images, seed: p.seed, samplingMs: 0, modelMs: 0 };
  }

  async interpolate(p: InterpolationParams): Promise<InterpolationOutput> {
    const images = imagesFor({ ...p, seed: p.seedA ^ p.seedB, count: p.frames }, p.steps);
    return { images, stripPng: await fakeRender.batchPng(images), gif: Buffer.from(`GIF89a:${p.seedA}:${p.seedB}`), samplingMs: 0 };
  }

  async interpolateFromImage(p: ImageInterpolationParams, source: Tensor): Promise<InterpolationOutput> {
    const images = imagesFor({ ...p, seed: p.seedB ^ hashString(Array.from(source.data).join(',')), count: p.frames }, p.steps);
    return { images, stripPng: await fakeRender.batchPng(images), gif: Buffer.from(`GIF89a:image:${p.seedB}`), samplingMs: 0 };
  }

  async invert(p: InversionParams, source: Tensor): Promise<InversionResult> {
    const reconstruction = { data: Float32Array.from(source.data, (v, i) => (i === 0 ? -v : v)), shape: source.shape };
    const latent = imagesFor({ ...p, seed: hashString(Array.from(source.data).join(',')), count: 1 }, p.steps);
    const error = (2 * source.data[0]! * 127.5) ** 2 / source.data.length;
    return { latent, reconstruction, psnr: error === 0 ? Infinity : 10 * Math.log10(255 ** 2 / error), modelMs: 0 };
  }

  async interpolateLabels(p: LabelInterpolationParams): Promise<InterpolationOutput> {
    const images = imagesFor({ ...p, seed: p.seed ^ hashString(p.labelA + p.labelB), count: p.frames }, p.steps);
    return { images, stripPng: await fakeRender.batchPng(images), gif: Buffer.from(`GIF89a:${p.labelA}:${p.labelB}`), samplingMs: 0 };
  }
}

function imagesFor(p: Pick<GenerationParams, 'seed' | 'sampler' | 'steps' | 'options' | 'count'>, step: number): Tensor {
  const per = SIZE * SIZE;
  const data = new Float32Array(p.count * per);
  for (let k = 0; k < p.count; k++) {
    const rand = mulberry32(p.seed ^ hashString(`${p.sampler}:${p.steps}:${JSON.stringify(p.options)}:${k}:${step}`));
    for (let j = 0; j < per; j++) data[k * per + j] = rand() * 2 - 1;
  }
  return { data, shape: [p.count, 1, SIZE, SIZE] };
}

function encode(values: Float32Array): Buffer {
  const pixels = Buffer.from(Array.from(values, (v) => Math.round((v + 1) * 127.5)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pixels]);
}

/** "PNG" bytes: the PNG signature followed by the quantised pixels; deterministic like the real encoder. */
export const fakeRender: RenderPort = {
  async imagePng(images: Tensor, index = 0): Promise<Buffer> {
    const per = images.data.length / images.shape[0]!;
    return encode(images.data.subarray(index * per, (index + 1) * per));
  },
  async batchPng(images: Tensor): Promise<Buffer> {
    return encode(images.data);
  },
  /** "GIF" bytes: the GIF signature, then the frames' fake PNGs in order. */
  async trajectoryGif(previews: readonly Buffer[], finalPng: Buffer): Promise<Buffer> {
    return Buffer.concat([Buffer.from('GIF89a', 'latin1'), ...previews, finalPng]);
  },
};
