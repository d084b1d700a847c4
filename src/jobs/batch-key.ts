/**
 * Batch keys: requests with equal keys (model, sampler, steps, options) can share one ONNX batch,
 * so a worker claims rows of one key together. Noise demos, variations, interpolations and inversions get a key
 * of their own kind (never a generation's) and always run alone.
 */

/** Stable JSON (sorted keys) so equal options give equal batch keys. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function batchKeyOf(p: { model: string; sampler: string; steps: number; options: Readonly<Record<string, unknown>> }): string {
  return canonicalJson({ model: p.model, sampler: p.sampler, steps: p.steps, options: p.options });
}

export function soloBatchKey(kind: 'noise_demo' | 'vary' | 'interpolate' | 'invert', model: string): string {
  return `${kind}:${canonicalJson({ model })}`;
}
