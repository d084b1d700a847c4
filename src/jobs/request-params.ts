/**
 * The raw parameters of a submission before the engine validates them: an object, and a stored
 * request's sampler fields as the defaults of a replay, an edit of its image or an interpolation from it.
 */
import type { Request as RequestRow } from '../db/generated/client.ts';
import { jsonRecord, ValidationError } from './types.ts';

/** Parameters of a request given as an object; anything else is a ValidationError. */
export function rawObject(params: unknown): Record<string, unknown> {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new ValidationError('params', 'parameters must be an object');
  return params as Record<string, unknown>;
}

/**
 * Sampler, steps and options of a stored request with `o`'s changes. Options and steps belong to a
 * sampler: switching sampler starts from that sampler's defaults.
 */
export function samplerFields(row: RequestRow, o: { sampler?: unknown; steps?: unknown; options?: unknown }): Record<string, unknown> {
  const changed = o.sampler !== undefined && o.sampler !== row.sampler;
  return {
    sampler: o.sampler ?? row.sampler ?? undefined,
    steps: o.steps ?? (changed ? undefined : (row.steps ?? undefined)),
    options: o.options ?? (changed || row.sampler === null ? {} : jsonRecord(row.options)),
  };
}
