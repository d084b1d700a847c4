/**
 * The rows a generation and a noise demo become (a variation's, interpolation's and inversion's are
 * in edits.ts): what the submission decides of a request before the service gives it an id and its
 * requester's keys.
 */
import type { NewRequest } from '../db/request-store.ts';
import { batchKeyOf, soloBatchKey } from './batch-key.ts';
import type { GenerationParams } from './engine-port.ts';
import type { NoiseDemoParams } from './types.ts';

/** A request before the service gives it an id and its requester's keys. */
export type Draft = Omit<NewRequest, 'id' | 'platform' | 'workspaceId' | 'channelId' | 'userId' | 'userKey' | 'replyTo' | 'dedupeKey' | 'derivedFromId'>;

export function generationDraft(p: GenerationParams, recordTrajectory: boolean): Draft {
  return {
    kind: 'generate',
    model: p.model,
    sampler: p.sampler,
    steps: p.steps,
    label: p.label,
    guidance: p.guidance,
    seed: p.seed,
    count: p.count,
    options: { ...p.options },
    noiseDemo: null,
    edit: null,
    inputImage: null,
    batchKey: batchKeyOf(p),
    recordTrajectory,
  };
}

export function noiseDemoDraft(p: NoiseDemoParams, image: Buffer | null): Draft {
  const noiseDemo: Record<string, unknown> = {};
  if (p.timesteps) noiseDemo.timesteps = p.timesteps;
  if (p.denoiseFrom !== undefined) noiseDemo.denoiseFrom = p.denoiseFrom;
  return {
    kind: 'noise_demo',
    model: p.model,
    sampler: null,
    steps: null,
    label: null,
    guidance: null,
    seed: p.seed,
    count: 1,
    options: {},
    noiseDemo,
    edit: null,
    inputImage: image,
    batchKey: soloBatchKey('noise_demo', p.model),
    recordTrajectory: false,
  };
}
