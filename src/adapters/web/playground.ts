/**
 * The local playground: a static chat-like page (src/adapters/web/playground/) plus the two
 * listings it needs beyond the HTTP API in ./api.ts (which it uses for everything else: generate,
 * noise demo, request state, images, Server-Sent Events, replay, the recent-requests gallery):
 *
 *   GET /, /playground              the page
 *   GET /playground/:file           its script and stylesheet
 *   GET /api/models                 installed models (name, description, image size, T, classes, which is the default)
 *   GET /api/samplers[?model=name]  sampler plugins with their step limits for that model and their options
 */
import { readFile, readdir } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import type { Catalog } from '../../engine/catalog.ts';
import type { HttpServer } from '../../server/http.ts';
import { HttpError, sendJson } from '../../server/http.ts';
import { optionSpecs } from '../../engine/options.ts';

export const PLAYGROUND_DIR = path.resolve(import.meta.dirname, 'playground');

export interface PlaygroundOptions {
  readonly catalog: Catalog;
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

const PAGE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
  'cache-control': 'no-cache',
};

/** Adds the playground's routes to the service's HTTP server. */
export function registerPlayground(http: HttpServer, options: PlaygroundOptions): void {
  const assetsDir = options.assetsDir ?? PLAYGROUND_DIR;
  // The asset list is fixed at start: only these names are ever read from disk.
  const assets = readdir(assetsDir).then((names) => new Set(names.filter((n) => CONTENT_TYPES[path.extname(n)] && n !== 'index.html')));

  const page = async (method: string | undefined, res: ServerResponse) => sendFile(res, method, path.join(assetsDir, 'index.html'));
  http.route('GET', '/', (req, res) => page(req.method, res));
  http.route('GET', '/playground', (req, res) => page(req.method, res));
  http.route('GET', '/playground/:file', async (req, res, { file }) => {
    if (!file || !(await assets).has(file)) throw new HttpError(404, { error: 'not_found', message: `no file ${file}` });
    await sendFile(res, req.method, path.join(assetsDir, file));
  });
  http.route('GET', '/api/models', (_req, res) => sendJson(res, 200, { models: listModels(options.catalog) }));
  http.route('GET', '/api/samplers', (_req, res, _params, url) => sendJson(res, 200, { samplers: listSamplers(options.catalog, url.searchParams.get('model')) }));
}

async function sendFile(res: ServerResponse, method: string | undefined, file: string): Promise<void> {
  const body = await readFile(file);
  res.writeHead(200, { 'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-length': body.length, ...PAGE_HEADERS });
  res.end(method === 'HEAD' ? undefined : body);
}

/** Every model with what a client needs to build its pickers: size, T, classes and default guidance, and which one is the default. */
export function listModels(catalog: Catalog) {
  const defaultName = catalog.models.defaultModel()?.name;
  return catalog.models.list().map((m) => ({
    name: m.name,
    description: m.manifest.description ?? null,
    license: m.manifest.license ?? null,
    image: m.manifest.image,
    numTrainTimesteps: m.manifest.scheduler.num_train_timesteps,
    default: m.name === defaultName,
    conditioning: m.manifest.conditioning ? { classes: m.manifest.conditioning.classes, defaultGuidance: m.manifest.conditioning.default_guidance_scale } : null,
  }));
}

export function listSamplers(catalog: Catalog, modelName: string | null) {
  const models = catalog.models.list();
  const model = modelName ? models.find((m) => m.name === modelName) : catalog.models.defaultModel();
  if (modelName && !model) throw new HttpError(404, { error: 'not_found', field: 'model', message: `unknown model "${modelName}"` });
  const T = model?.manifest.scheduler.num_train_timesteps ?? 1000;
  return catalog.samplers.list().map((s) => ({ name: s.name, description: s.description, steps: s.stepLimits(T), options: optionSpecs(s) }));
}
