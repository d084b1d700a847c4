/**
 * The HTTP API (documented in README "HTTP API"). It only translates HTTP to the job service:
 * zod checks the shape at the edge, the engine validates the parameters, and service errors map
 * to status codes (ValidationError 400 naming the field, RateLimitError 429 + Retry-After,
 * NotFoundError 404, ForbiddenError 403).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Logger } from '../../ops/logger.ts';
import { HttpError, readJson, sendJson, type HttpServer } from '../../server/http.ts';
import { MAX_INPUT_BYTES } from '../../render/input.ts';
import {
  ForbiddenError,
  NotFoundError,
  RateLimitError,
  ValidationError,
  type GenerationService,
  type ImageIndex,
  type ImageRef,
  type RequestEvent,
  type RequestView,
  type Requester,
} from '../../jobs/service.ts';
import { interpolationPartners } from '../../jobs/interpolate-between.ts';
import { registerEditRoutes } from './edit-routes.ts';
import { readImageForm } from './image-form.ts';

export interface WebApiOptions {
  readonly log: Logger;
  /** Use the first X-Forwarded-For address as the client identity (behind a trusted proxy only). */
  readonly trustProxy?: boolean;
  /** Largest accepted upload (noise demo, inversion). */
  readonly maxUploadBytes?: number;
}

const jsonObject = z.record(z.unknown());

const generateBody = z
  .object({
    /** Default: the engine's default model. */
    model: z.string().optional(),
    sampler: z.string().optional(),
    steps: z.number().optional(),
    seed: z.number().optional(),
    count: z.number().optional(),
    /** The sampler's own options, as GET /api/samplers describes them; the engine checks them. */
    options: jsonObject.optional(),
    /** Class-conditional models: a class name or index, and the guidance scale (the engine checks both). */
    label: z.union([z.string(), z.number()]).optional(),
    guidance: z.number().optional(),
  })
  .strict();

const replayBody = z
  .object({
    sampler: z.string().optional(),
    steps: z.number().int().optional(),
    count: z.number().int().optional(),
    options: jsonObject.optional(),
    /** true: a fresh random seed (re-roll) instead of the same seed. */
    newSeed: z.boolean().optional(),
    /** true: also store the denoising animation (images/animation.gif). */
    recordTrajectory: z.boolean().optional(),
  })
  .strict();

/** Converts the first zod issue to a 400 naming the field. */
function zodToHttp(err: z.ZodError): HttpError {
  const issue = err.issues[0];
  const field = issue?.path.join('.') || (issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'body');
  if (issue?.code === 'unrecognized_keys' && issue.path.length === 0) {
    const message = `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; a sampler's own options go in "options" (GET /api/samplers lists them)`;
    return new HttpError(400, { error: 'validation', field, message });
  }
  return new HttpError(400, { error: 'validation', field, message: issue ? `${field}: ${issue.message}` : 'invalid request' });
}

function mapServiceError(err: unknown): never {
  if (err instanceof ValidationError) throw new HttpError(400, { error: 'validation', field: err.field, message: err.message });
  if (err instanceof RateLimitError) {
    throw new HttpError(429, { error: 'rate_limited', reason: err.reason, message: err.message, retryAfterSeconds: err.retryAfterSeconds }, { 'retry-after': String(err.retryAfterSeconds) });
  }
  if (err instanceof NotFoundError) throw new HttpError(404, { error: 'not_found', message: err.message });
  if (err instanceof ForbiddenError) throw new HttpError(403, { error: 'forbidden', message: err.message });
  throw err;
}

export function imageFileName(index: ImageRef['index']): string {
  return index === 'gif' ? 'animation.gif' : `${index}.png`;
}

function parseImageName(name: string): ImageIndex | null {
  if (name === 'animation.gif') return 'gif';
  const m = /^(\d{1,2}|grid|reconstruction)\.png$/.exec(name);
  if (!m) return null;
  return m[1] === 'grid' || m[1] === 'reconstruction' ? m[1] : Number(m[1]);
}

export function requestJson(view: RequestView, position: number | null): Record<string, unknown> {
  const base = `/api/requests/${view.id}`;
  return {
    id: view.id,
    kind: view.kind,
    status: view.status,
    position,
    params:
      view.kind === 'noise_demo'
        ? { model: view.model, seed: view.seed, timesteps: view.noiseDemo?.timesteps ?? null, denoiseFrom: view.noiseDemo?.denoiseFrom ?? null }
        : { model: view.model, sampler: view.sampler, steps: view.steps, label: view.label, guidance: view.guidance, seed: view.seed, count: view.count, options: view.options },
    /** Variations: strength and source; interpolations: frames and the last frame's seed or label. */
    variation: view.variation,
    interpolation: view.interpolation,
    /** Inversions: the source and the reconstruction's PSNR in dB. */
    inversion: view.inversion,
    seed: view.seed,
    progress: view.progress,
    error: view.error,
    attempts: view.attempts,
    derivedFrom: view.derivedFrom,
    createdAt: view.createdAt.toISOString(),
    startedAt: view.startedAt?.toISOString() ?? null,
    finishedAt: view.finishedAt?.toISOString() ?? null,
    timings: view.timings,
    images: view.images.map((i) => ({ index: i.index, url: `${base}/images/${imageFileName(i.index)}`, contentType: i.contentType, bytes: i.bytes, sha256: i.sha256 })),
    eventsUrl: `${base}/events`,
  };
}

export function registerWebApi(http: HttpServer, service: GenerationService, options: WebApiOptions): void {
  // The largest accepted image (10 MB) plus the form's other fields and part headers.
  const maxUpload = options.maxUploadBytes ?? MAX_INPUT_BYTES + 64 * 1024;

  const requester = (req: IncomingMessage): Requester => {
    const forwarded = options.trustProxy ? String(req.headers['x-forwarded-for'] ?? '').split(',')[0]?.trim() : '';
    return { platform: 'web', userId: forwarded || req.socket.remoteAddress || 'unknown' };
  };

  const accepted = (res: ServerResponse, s: { id: string; position: number }) =>
    sendJson(res, 202, { id: s.id, position: s.position, url: `/api/requests/${s.id}`, eventsUrl: `/api/requests/${s.id}/events` }, { location: `/api/requests/${s.id}` });

  http.route('POST', '/api/generate', async (req, res) => {
    const parsed = generateBody.safeParse(await readJson(req));
    if (!parsed.success) throw zodToHttp(parsed.error);
    const submitted = await service.submitGeneration({ requester: requester(req), params: parsed.data, replyTo: null }).catch(mapServiceError);
    accepted(res, submitted);
  });

  http.route('POST', '/api/noise-demo', async (req, res, _params, url) => {
    const type = String(req.headers['content-type'] ?? '');
    let params: Record<string, unknown>;
    let image: Buffer | undefined;
    if (type.startsWith('multipart/form-data')) {
      const form = await readImageForm(req, url, maxUpload);
      params = Object.fromEntries(Object.entries(form.fields).map(([key, value]) => [key, formValue(key, value)]));
      image = form.image;
    } else {
      const body = await readJson(req);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, { error: 'validation', field: 'body', message: 'expected a JSON object' });
      params = body as Record<string, unknown>;
    }
    const submitted = await service.submitNoiseDemo({ requester: requester(req), params, image, replyTo: null }).catch(mapServiceError);
    accepted(res, submitted);
  });

  registerEditRoutes(http, service, {
    requester,
    accepted,
    mapServiceError,
    readImageForm: (req, url) => readImageForm(req, url, maxUpload),
    parse: (schema, body) => {
      const parsed = schema.safeParse(body);
      if (!parsed.success) throw zodToHttp(parsed.error);
      return parsed.data;
    },
  });

  http.route('GET', '/api/requests', async (req, res, _params, url) => {
    const limit = Math.min(100, Math.max(1, Number(url.searchParams.get('limit') ?? 20) || 20));
    let views = await service.listRecentRequests(requester(req), limit);
    // ?partnersOf=<id>: only those the service would interpolate that request with (the playground's Interpolate with…).
    const partnersOf = url.searchParams.get('partnersOf');
    if (partnersOf !== null) {
      const source = await service.getRequest(partnersOf);
      if (!source) throw new HttpError(404, { error: 'not_found', message: `no request ${partnersOf}` });
      views = interpolationPartners(views, source);
    }
    sendJson(res, 200, { requests: views.map((v) => requestJson(v, null)) });
  });

  http.route('GET', '/api/requests/:id', async (_req, res, { id }) => {
    const view = await service.getRequest(id!);
    if (!view) throw new HttpError(404, { error: 'not_found', message: `no request ${id}` });
    const position = view.status === 'queued' ? await service.queuePosition(view.id) : null;
    sendJson(res, 200, requestJson(view, position), { 'cache-control': 'no-store' });
  });

  http.route('DELETE', '/api/requests/:id', async (req, res, { id }) => {
    const changed = await service.cancel(id!, requester(req)).catch(mapServiceError);
    sendJson(res, changed ? 200 : 409, changed ? { id, status: 'cancelling' } : { error: 'conflict', message: 'request already finished' });
  });

  http.route('POST', '/api/requests/:id/delete', async (req, res, { id }) => {
    const deleted = await service.deleteRequest(id!, requester(req)).catch(mapServiceError);
    sendJson(res, deleted ? 200 : 409, deleted ? { id, deleted: true } : { error: 'conflict', message: 'request is still queued or running: cancel it first' });
  });

  http.route('POST', '/api/requests/:id/replay', async (req, res, { id }) => {
    const parsed = replayBody.safeParse(await readJson(req));
    if (!parsed.success) throw zodToHttp(parsed.error);
    const { newSeed, ...overrides } = parsed.data;
    const submitted = await (newSeed ? service.reroll(id!, requester(req), null) : service.replay(id!, requester(req), null, overrides)).catch(mapServiceError);
    accepted(res, submitted);
  });

  http.route('GET', '/api/requests/:id/images/:name', async (req, res, { id, name }) => {
    const index = parseImageName(name!);
    if (index === null) throw new HttpError(404, { error: 'not_found', message: `no image ${name}` });
    const image = await service.getImage(id!, index);
    if (!image) throw new HttpError(404, { error: 'not_found', message: `no image ${name} for request ${id}` });
    const etag = `"${image.sha256}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag });
      res.end();
      return;
    }
    // Stored images never change: a request's seed and parameters fix them.
    res.writeHead(200, { 'content-type': image.contentType, 'content-length': image.bytes.length, etag, 'cache-control': 'public, max-age=31536000, immutable' });
    res.end(req.method === 'HEAD' ? undefined : image.bytes);
  });

  http.route('GET', '/api/requests/:id/events', async (req, res, { id }) => {
    const view = await service.getRequest(id!);
    if (!view) throw new HttpError(404, { error: 'not_found', message: `no request ${id}` });
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': stream open\n\n');
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    let closed = false;
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    const finish = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
      res.end();
    };
    const unsubscribe = service.watch(
      view.id,
      (e: RequestEvent) => {
        if (closed) return;
        switch (e.type) {
          case 'queued':
            send('queued', { position: e.position });
            break;
          case 'running':
            send('running', { attempt: e.attempt });
            break;
          case 'progress':
            send('progress', { step: e.step, totalSteps: e.totalSteps, preview: e.previewPng ? `data:image/png;base64,${e.previewPng.toString('base64')}` : null });
            break;
          case 'succeeded':
            send('done', { status: 'succeeded', images: e.images.map((i) => ({ index: i.index, url: `/api/requests/${view.id}/images/${imageFileName(i.index)}`, sha256: i.sha256 })) });
            finish();
            break;
          case 'failed':
            send('failed', { error: e.error });
            finish();
            break;
          case 'cancelled':
            send('failed', { error: 'cancelled', cancelled: true });
            finish();
            break;
        }
      },
    );
    req.on('close', finish);
  });
}

/** Multipart fields are strings; numbers and lists are converted so the service sees typed params. */
function formValue(key: string, value: string): unknown {
  if (key === 'timesteps') {
    const trimmed = value.trim();
    if (trimmed.startsWith('[')) {
      try {
        return JSON.parse(trimmed) as unknown;
      } catch {
        return value;
      }
    }
    return trimmed.split(/[\s,]+/).filter(Boolean).map(Number);
  }
  if (key === 'seed' || key === 'denoiseFrom') return value.trim() === '' ? undefined : Number(value);
  return value;
}
