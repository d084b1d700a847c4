/**
 * "Interpolate with…" on a result: frames morphing one generation's image into another's, from the
 * first's seed to the second's. The rules live here once: the service refuses a pair that breaks them,
 * and the front ends (Discord, Slack, the playground's API) offer only the requests that keep them.
 */
import { ValidationError } from '../engine/errors.ts';
import type { RequestView } from './types.ts';

/** What the rules read of a request: a RequestView or a stored row. */
type Pair = Pick<RequestView, 'id' | 'kind' | 'status' | 'model' | 'label'>;

/**
 * Why `to` cannot be interpolated with `from`, or null. Only finished generations: a variation's seed is
 * its added noise's and an interpolation has two, so neither seed draws the image shown. `from` may also be
 * an inversion, whose x_T is its image's (the user's own digit morphs into a generated one). One model and
 * one label, because the frames share them (two labels at one seed is `/interpolate label_a label_b`).
 */
export function partnerRefusal(from: Pair, to: Pair): ValidationError | null {
  if (from.id === to.id) return new ValidationError('to', 'pick another request than this one to interpolate with');
  for (const [field, r] of [['source', from], ['to', to]] as const) {
    const allowed = r.kind === 'generate' || (field === 'source' && r.kind === 'invert');
    if (!allowed) return new ValidationError(field, `request ${r.id} is a ${r.kind.replace('_', ' ')}; Interpolate with… morphs a generated or inverted image into a generated one`);
    if (r.status !== 'succeeded') return new ValidationError(field, `request ${r.id} has not succeeded (it is ${r.status})`);
  }
  if (from.model !== to.model) return new ValidationError('model', `the two requests use different models (${from.model}, ${to.model}); interpolation runs one model`);
  if (from.label !== to.label) {
    return new ValidationError('label', `the two requests have different labels (${from.label ?? 'none'}, ${to.label ?? 'none'}); interpolate between labels at one seed with label_a and label_b`);
  }
  return null;
}

/** The requests of `recent` that `source` can be interpolated with, in the order given (newest first). */
export function interpolationPartners(recent: readonly RequestView[], source: Pair): RequestView[] {
  return recent.filter((view) => partnerRefusal(source, view) === null);
}
