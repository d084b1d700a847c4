/**
 * Reroll (a new seed) and replay (the stored seed, with overrides) of a stored request of any kind,
 * validated again like a new submission.
 */
import type { Request as RequestRow } from '../db/generated/client.ts';
import { generationDraft, noiseDemoDraft } from './drafts.ts';
import { editInput, imageInterpolationDraft, interpolationDraft, interpolationInfo, inversionDraft, inversionInfo, variationDraft, variationInfo } from './edits.ts';
import { samplerFields } from './request-params.ts';
import type { ReplayOverrides, Submitted } from './service.ts';
import { randomSeed, storeRequest, type SubmitDeps } from './store-request.ts';
import { jsonRecord, type Json, type NoiseDemoParams, type Requester } from './types.ts';

/** Reroll (a new seed) or replay (the stored seed, with overrides) of a stored request. */
export async function resubmit(deps: SubmitDeps, row: RequestRow, requester: Requester, replyTo: Json, newSeed: boolean, o: ReplayOverrides): Promise<Submitted> {
  const seed = newSeed ? randomSeed() : Number(row.seed);
  if (row.kind === 'noise_demo') {
    const nd = jsonRecord(row.noiseDemo);
    const params: NoiseDemoParams = {
      model: row.model,
      seed,
      timesteps: Array.isArray(nd.timesteps) ? (nd.timesteps as number[]) : undefined,
      denoiseFrom: typeof nd.denoiseFrom === 'number' ? nd.denoiseFrom : undefined,
    };
    return storeRequest(deps, requester, replyTo, row.id, noiseDemoDraft(params, row.inputImage ? Buffer.from(row.inputImage) : null));
  }
  if (row.kind === 'vary' || row.kind === 'interpolate' || row.kind === 'invert') return resubmitEdit(deps, row, requester, replyTo, newSeed, o);
  const params = deps.engine.validate({
    model: row.model,
    ...samplerFields(row, o),
    seed,
    count: o.count ?? row.count,
    ...(row.label === null ? {} : { label: row.label, guidance: row.guidance ?? undefined }),
  });
  return storeRequest(deps, requester, replyTo, row.id, generationDraft(params, o.recordTrajectory ?? false));
}

/**
 * A variation again (a new noise seed, or the same) from its stored image; an interpolation with new seeds, or
 * the same (from an image, the image stays); an inversion again (it has no seed), perhaps with other steps.
 */
function resubmitEdit(deps: SubmitDeps, row: RequestRow, requester: Requester, replyTo: Json, newSeed: boolean, o: ReplayOverrides): Promise<Submitted> {
  const between = interpolationInfo(row.kind, row.edit);
  const seeds: [number, number] = newSeed ? [randomSeed(), randomSeed()] : [Number(row.seed), between && 'seed' in between.to ? between.to.seed : 0];
  const raw = editInput(row, seeds, samplerFields(row, o));
  const engine = deps.engine;
  const image = Buffer.from(row.inputImage ?? []);
  const varied = variationInfo(row.kind, row.edit);
  if (varied) return storeRequest(deps, requester, replyTo, row.id, variationDraft(engine.validateVariation(raw), varied.source, image));
  const inverted = inversionInfo(row.kind, row.edit, row.result);
  if (inverted) return storeRequest(deps, requester, replyTo, row.id, inversionDraft(engine.validateInversion(raw), inverted.source, image));
  if (between?.from) return storeRequest(deps, requester, replyTo, row.id, imageInterpolationDraft(engine.validateImageInterpolation(raw), between.from, image));
  const params = 'seed_a' in raw ? engine.validateInterpolation(raw) : engine.validateLabelInterpolation(raw);
  return storeRequest(deps, requester, replyTo, row.id, interpolationDraft(params));
}
