/**
 * The local playground: a static chat-like page (src/adapters/web/playground/) plus the few JSON
 * routes it needs beyond the HTTP API in ./api.ts (which it uses for generate, noise demo, request
 * state, images and Server-Sent Events):
 *
 *   GET  /, /playground                 the page
 *   GET  /playground/<asset>            its script and stylesheet
 *   GET  /api/models                    installed models (name, description, image size)
 *   GET  /api/samplers[?model=name]     sampler plugins with their step limits for that model
 *   GET  /api/requests?recent=N         the playground user's newest requests (the gallery)
 *   POST /api/requests/:id/reroll       same parameters, new seed
 *   POST /api/requests/:id/replay       same seed, optional { sampler, steps, eta, count }
 *
 * `handle(req, res)` returns false for every other path so it mounts next to any router.
 */
import { readFile, readdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { z } from 'zod';
import type { GenerationService, ReplayOverrides } from '../../jobs/service.ts';
import type { Json, Requester, RequestView } from '../../jobs/types.ts';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export const PLAYGROUND_DIR = path.resolve(import.meta.dirname, 'playground');

/** What the page lists; the real Engine satisfies it structurally. */
export interface PlaygroundCatalog {
  readonly models: {
    list(): readonly {
      readonly name: string;
      readonly manifest: {
        readonly description?: string | undefined;
        readonly license?: string | undefined;
        readonly image: { readonly channels: number; readonly height: number; readonly width: number };
        readonly scheduler: { readonly num_train_timesteps: number };
      };
    }[];
  };
  readonly samplers: {
    list(): readonly {
      readonly name: string;
      readonly description: string;
      stepLimits(numTrainTimesteps: number): { readonly min: number; readonly max: number; readonly default: number };
    }[];
  };
}

export interface PlaygroundOptions {
  readonly catalog: PlaygroundCatalog;
  readonly service: Pick<GenerationService, 'listRecentRequests' | 'reroll' | 'replay'>;
  /** Who the browser is; must match what the HTTP API uses for POST /api/generate so the gallery shows the same requests. */
  readonly requester: (req: IncomingMessage) => Requester;
  /** Where the static files are (default: ./playground next to this file). */
  readonly assetsDir?: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
};

const replaySchema = z
  .object({
    sampler: z.string().min(1).max(64).optional(),
    steps: z.number().int().positive().optional(),
    eta: z.number().optional(),
    count: z.number().int().positive().optional(),
  })
  .strict();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_BODY = 16 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, Json> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function playgroundRoutes(options: PlaygroundOptions): RouteHandler {
  const assetsDir = options.assetsDir ?? PLAYGROUND_DIR;
  // The asset list is fixed at start: only these names are ever read from disk.
  const assets = readdir(assetsDir).then((names) => new Set(names.filter((n) => CONTENT_TYPES[path.extname(n)])));

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const p = url.pathname;
    const method = req.method ?? 'GET';
    try {
      if (p === '/' || p === '/playground' || p === '/playground/') {
        allow(method, ['GET', 'HEAD']);
        await sendFile(res, method, path.join(assetsDir, 'index.html'), 'no-cache');
        return true;
      }
      if (p.startsWith('/playground/')) {
        const name = p.slice('/playground/'.length);
        if (!(await assets).has(name)) return false;
        allow(method, ['GET', 'HEAD']);
        await sendFile(res, method, path.join(assetsDir, name), 'no-cache');
        return true;
      }
      if (p === '/api/models') {
        allow(method, ['GET']);
        sendJson(res, 200, { models: listModels(options.catalog) });
        return true;
      }
      if (p === '/api/samplers') {
        allow(method, ['GET']);
        sendJson(res, 200, { samplers: listSamplers(options.catalog, url.searchParams.get('model')) });
        return true;
      }
      if (p === '/api/requests') {
        allow(method, ['GET']);
        const recent = url.searchParams.get('recent') ?? '20';
        if (!/^\d{1,3}$/.test(recent) || Number(recent) < 1 || Number(recent) > 100) {
          throw new HttpError(400, 'recent must be an integer in 1..100', { field: 'recent' });
        }
        const views = await options.service.listRecentRequests(options.requester(req), Number(recent));
        sendJson(res, 200, { requests: views.map(requestJson) });
        return true;
      }
      const action = /^\/api\/requests\/([^/]+)\/(reroll|replay)$/.exec(p);
      if (action) {
        allow(method, ['POST']);
        const id = action[1]!;
        if (!UUID.test(id)) throw new HttpError(404, `no request ${id}`);
        const requester = options.requester(req);
        const replyTo: Json = { via: 'playground' };
        if (action[2] === 'reroll') {
          sendJson(res, 202, await options.service.reroll(id, requester, replyTo));
        } else {
          const overrides = await readReplay(req);
          sendJson(res, 202, await options.service.replay(id, requester, replyTo, overrides));
        }
        return true;
      }
      return false;
    } catch (error) {
      sendError(res, error);
      return true;
    }
  };
}

function allow(method: string, methods: string[]): void {
  if (!methods.includes(method)) throw new HttpError(405, `method ${method} not allowed`, {}, { Allow: methods.join(', ') });
}

async function sendFile(res: ServerResponse, method: string, file: string, cache: string): Promise<void> {
  const body = await readFile(file);
  res.writeHead(200, {
    'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
    'Content-Length': body.length,
    'Cache-Control': cache,
    ...SECURITY_HEADERS,
  });
  res.end(method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(text);
}

/** Maps the job system's errors (by name, so copies of the classes across modules still match) to HTTP. */
function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof HttpError) {
    sendJson(res, error.status, { error: error.message, ...error.extra }, error.headers);
    return;
  }
  const e = error as { name?: string; message?: string; field?: string; retryAfterSeconds?: number };
  switch (e.name) {
    case 'ValidationError':
    case 'ParamError':
      sendJson(res, 400, { error: e.message, field: e.field ?? null });
      return;
    case 'RateLimitError':
      sendJson(res, 429, { error: e.message, retryAfterSeconds: e.retryAfterSeconds ?? 60 }, { 'Retry-After': String(e.retryAfterSeconds ?? 60) });
      return;
    case 'NotFoundError':
      sendJson(res, 404, { error: e.message });
      return;
    case 'ForbiddenError':
      sendJson(res, 403, { error: e.message });
      return;
    default:
      throw error;
  }
}

async function readReplay(req: IncomingMessage): Promise<ReplayOverrides> {
  const type = req.headers['content-type'] ?? '';
  let raw = '';
  for await (const chunk of req as AsyncIterable<Buffer>) {
    raw += chunk.toString('utf8');
    if (raw.length > MAX_BODY) throw new HttpError(413, 'body too large');
  }
  if (raw.trim() === '') return {};
  if (!type.startsWith('application/json')) throw new HttpError(415, 'send application/json');
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'body is not valid JSON', { field: 'body' });
  }
  const parsed = replaySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'body');
    throw new HttpError(400, `${field}: ${issue.message}`, { field });
  }
  const { eta, ...rest } = parsed.data;
  return { ...rest, ...(eta !== undefined ? { options: { eta } } : {}) };
}

export function listModels(catalog: PlaygroundCatalog) {
  return catalog.models.list().map((m) => ({
    name: m.name,
    description: m.manifest.description ?? null,
    license: m.manifest.license ?? null,
    image: m.manifest.image,
    numTrainTimesteps: m.manifest.scheduler.num_train_timesteps,
  }));
}

export function listSamplers(catalog: PlaygroundCatalog, modelName: string | null) {
  const models = catalog.models.list();
  const model = (modelName ? models.find((m) => m.name === modelName) : undefined) ?? models[0];
  const T = model?.manifest.scheduler.num_train_timesteps ?? 1000;
  if (modelName && !models.some((m) => m.name === modelName)) {
    throw new HttpError(404, `unknown model "${modelName}"`, { field: 'model' });
  }
  return catalog.samplers.list().map((s) => ({ name: s.name, description: s.description, steps: s.stepLimits(T) }));
}

/** The gallery's view of a request: plain JSON, image URLs from the HTTP API, no reply targets. */
export function requestJson(v: RequestView) {
  return {
    id: v.id,
    kind: v.kind,
    status: v.status,
    model: v.model,
    sampler: v.sampler,
    steps: v.steps,
    eta: v.eta,
    seed: v.seed,
    count: v.count,
    options: v.options,
    noiseDemo: v.noiseDemo,
    error: v.error,
    createdAt: v.createdAt.toISOString(),
    finishedAt: v.finishedAt?.toISOString() ?? null,
    timings: v.timings,
    derivedFrom: v.derivedFrom,
    images: v.images.map((img) => ({ index: img.index, contentType: img.contentType, url: `/api/requests/${v.id}/images/${img.index}.png` })),
  };
}
