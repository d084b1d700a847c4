/**
 * Interpolation between two labels at one seed, for class-conditional models. The label is an index into an
 * embedding inside the ONNX graph, so there is no point between two labels to feed the network; what can be
 * mixed is its output. Frame k decodes the seed's x_T with
 *   eps = eps(x, null) + s ((1 - w) eps(x, A) + w eps(x, B) - eps(x, null)),  w = k / (frames - 1),
 * classifier-free guidance towards a weighted mix of the two conditional predictions (the weighted
 * conjunction of Liu et al. 2022, "Compositional Visual Generation with Composable Diffusion Models"). It is a
 * mix of scores, not of labels; its ends are exactly the seed's images at label A and at label B.
 */
import { TorchGenerator } from '../core/rng.ts';
import type { Tensor } from '../core/tensor.ts';
import { concatBatch, numel } from '../core/tensor.ts';
import { ValidationError } from './errors.ts';
import type { InterpolationResult } from './interpolation.ts';
import { checkFrames } from './interpolation.ts';
import type { Denoiser, LoopStep } from './pipeline.ts';
import { denoise } from './pipeline.ts';
import type { EngineParts } from './prepare.ts';
import { NO_NOISE, inverseOf } from './prepare.ts';
import type { LabelInterpolationParams } from './types.ts';

/** Per image i of the batch: weight w_i of label B; scale 1 needs no null rows, as in guidedDenoiser. */
export function labelMixDenoiser(model: Denoiser, a: number, b: number, nullClass: number, scale: number, weights: readonly number[]): Denoiser {
  const n = weights.length;
  const guided = scale !== 1;
  return {
    async predict(sample: Tensor, timestep: number): Promise<Tensor> {
      if (sample.shape[0] !== n) throw new Error(`label mix for ${n} images applied to a batch of ${sample.shape[0]}`);
      const rows = guided ? [sample, sample, sample] : [sample, sample];
      const labels = [...weights.map(() => a), ...weights.map(() => b), ...(guided ? weights.map(() => nullClass) : [])];
      const out = (await model.predict(concatBatch(rows), timestep, labels)).data;
      const per = numel(sample.shape.slice(1));
      const eps = new Float32Array(n * per);
      const s = Math.fround(scale);
      weights.forEach((w, i) => {
        for (let j = i * per; j < (i + 1) * per; j++) {
          const [ca, cb] = [out[j]!, out[n * per + j]!];
          // The ends take one prediction as it is, so they match guidedDenoiser bit for bit.
          const c = w === 0 ? ca : w === 1 ? cb : Math.fround((1 - w) * ca + w * cb);
          if (!guided) eps[j] = c;
          else {
            const u = out[2 * n * per + j]!;
            eps[j] = u + Math.fround(s * Math.fround(c - u));
          }
        }
      });
      return { data: eps, shape: sample.shape };
    },
  };
}

export async function interpolateLabels(
  parts: EngineParts,
  params: LabelInterpolationParams,
  onStep?: (step: LoopStep, totalSteps: number) => void,
  signal?: AbortSignal,
): Promise<InterpolationResult> {
  checkFrames(params.frames);
  const model = parts.model(params.model);
  const conditioning = model.manifest.conditioning;
  if (!conditioning) throw new ValidationError('label_a', `model ${model.name} is not class-conditional; it has no labels to interpolate`);
  const index = (label: string, field: string) => {
    const i = conditioning.classes.indexOf(label);
    if (i < 0) throw new ValidationError(field, `${field}: "${label}" is not a class of ${model.name}`);
    return i;
  };
  const [a, b] = [index(params.labelA, 'label_a'), index(params.labelB, 'label_b')];
  const sampler = parts.sampler(params.sampler).create(model.manifest.scheduler, params.options);
  sampler.setTimesteps(params.steps);
  inverseOf(sampler, params.sampler, 'interpolation');
  const alphas = Array.from({ length: params.frames }, (_, k) => (k === params.frames - 1 ? 1 : k / (params.frames - 1)));
  const denoiser = labelMixDenoiser(await parts.denoiser(params.model), a, b, conditioning.null_class, params.guidance, alphas);
  const { channels, height, width } = model.manifest.image;
  const shape = [1, channels, height, width];
  const xT = { data: new TorchGenerator(params.seed).randn(shape), shape };
  const start = concatBatch(alphas.map(() => xT));
  const total = sampler.timesteps.length;
  const result = await denoise(denoiser, sampler, start, sampler.timesteps, NO_NOISE, onStep && ((s) => onStep(s, total)), signal);
  return { images: result.sample, alphas, samplingMs: result.totalMs, modelMs: result.modelMs };
}
