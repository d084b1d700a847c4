/**
 * `vary --from <request id>`: the request's parameters and image, read from the running service's HTTP
 * API (the service owns the database; with the embedded one no other process may open it).
 */
import { UsageError } from './common.ts';

export interface StoredSource {
  readonly image: Buffer;
  /** The request's generation parameters, the defaults of the variation. */
  readonly params: Record<string, unknown>;
}

async function get(url: string, service: string): Promise<Response> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(30_000) });
  } catch {
    throw new UsageError(`cannot reach the service at ${service} (start it with \`ddpm-bot serve\`, give its address with --service or DDPM_URL, or vary a PNG file instead)`);
  }
}

export async function storedSource(service: string, id: string, index: number): Promise<StoredSource> {
  const base = `${service.replace(/\/+$/, '')}/api/requests/${id}`;
  const res = await get(base, service);
  if (res.status === 404) throw new UsageError(`--from ${id}: the service at ${service} has no such request`);
  if (!res.ok) throw new UsageError(`--from ${id}: the service at ${service} answered ${res.status}`);
  const view = (await res.json()) as { status: string; kind: string; params: Record<string, unknown> };
  if (view.status !== 'succeeded') throw new UsageError(`--from ${id}: the request has no images to vary (it is ${view.status})`);
  const image = await get(`${base}/images/${index}.png`, service);
  if (!image.ok) throw new UsageError(`--from ${id}: the request has no image ${index} (--index)`);
  const { model, sampler, steps, options, label, guidance } = view.params;
  // A noise demo's parameters are no sampler's: only its model carries over.
  const params = view.kind === 'noise_demo' ? { model } : { model, sampler, steps, options, ...(label === null ? {} : { label, guidance }) };
  return { image: Buffer.from(await image.arrayBuffer()), params };
}
