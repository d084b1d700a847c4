/**
 * `--from <file|request id>` (vary, interpolate's --from-a/--from-b): an image file, or a request's image and
 * parameters read from the running service's HTTP API (the service owns the database; with the embedded one
 * no other process may open it).
 */
import { existsSync } from 'node:fs';
import { UsageError } from './common.ts';
import { readImageFile } from './image-file.ts';

export interface StoredSource {
  readonly image: Buffer;
  /** The request's generation parameters (none for a file): the defaults of what is made from the image. */
  readonly params: Record<string, unknown>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `from` as `flag` gave it: a file, or image `index` of the request with that id on `service`. */
export async function imageSource(flag: string, from: string, index: number, service: string): Promise<StoredSource> {
  if (existsSync(from)) return { image: await readImageFile(from, flag), params: {} };
  if (!UUID.test(from)) throw new UsageError(`${flag} ${from}: neither an image file nor a request id (a UUID such as the playground or the API shows)`);
  return storedSource(flag, service, from, index);
}

async function get(url: string, service: string): Promise<Response> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(30_000) });
  } catch {
    throw new UsageError(`cannot reach the service at ${service} (start it with \`ddpm-bot serve\`, give its address with --service or DDPM_URL, or give a PNG file instead)`);
  }
}

async function storedSource(flag: string, service: string, id: string, index: number): Promise<StoredSource> {
  const base = `${service.replace(/\/+$/, '')}/api/requests/${id}`;
  const res = await get(base, service);
  if (res.status === 404) throw new UsageError(`${flag} ${id}: the service at ${service} has no such request`);
  if (!res.ok) throw new UsageError(`${flag} ${id}: the service at ${service} answered ${res.status}`);
  const view = (await res.json()) as { status: string; kind: string; params: Record<string, unknown> };
  if (view.status !== 'succeeded') throw new UsageError(`${flag} ${id}: the request has no images to start from (it is ${view.status})`);
  const image = await get(`${base}/images/${index}.png`, service);
  if (!image.ok) throw new UsageError(`${flag} ${id}: the request has no image ${index} (--index${flag.slice('--from'.length)})`);
  const { model, sampler, steps, options, label, guidance } = view.params;
  // A noise demo's parameters are no sampler's: only its model carries over.
  const params = view.kind === 'noise_demo' ? { model } : { model, sampler, steps, options, ...(label === null ? {} : { label, guidance }) };
  return { image: Buffer.from(await image.arrayBuffer()), params };
}
