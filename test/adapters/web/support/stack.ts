/**
 * The service for browser and HTTP tests: the real Engine on the tiny fixture model, the real job
 * runtime on a throwaway Postgres database, and one node:http server with the ops routes, the
 * playground routes and the HTTP API.
 *
 * PROVISIONAL: until src/adapters/web/api.ts and src/server/ land from the queue branch, a minimal
 * stand-in of the documented API contract lives below (`provisionalApi`). It is test-only and goes
 * away when the real API is merged.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { playgroundRoutes, requestJson } from '../../../../src/adapters/web/playground.ts';
import { Engine } from '../../../../src/engine/index.ts';
import type { EnginePort, RenderPort } from '../../../../src/jobs/engine-port.ts';
import { startJobRuntime, type JobRuntime } from '../../../../src/jobs/runtime.ts';
import type { GenerationService } from '../../../../src/jobs/service.ts';
import type { Requester } from '../../../../src/jobs/types.ts';
import { createOps, createLogger, httpObserver, type Ops } from '../../../../src/ops/index.ts';
import { batchPng, imagePng } from '../../../../src/render/index.ts';
import { createTestDatabase, type TestDatabase } from '../../../jobs/support/database.ts';
import { testConfig } from '../../../jobs/support/runtime.ts';

export interface Stack {
  readonly url: string;
  readonly engine: Engine;
  readonly runtime: JobRuntime;
  readonly ops: Ops;
  close(): Promise<void>;
}

export const WEB_USER: Requester = { platform: 'web', userId: 'playground' };

/** The real Engine behind the job system's narrow port. */
export function enginePort(engine: Engine): EnginePort {
  return {
    models: { get: (name) => engine.model(name) },
    validate: (params) => engine.validate(params),
    generateBatch: (params, onProgress, signal) =>
      engine.generateBatch(params, onProgress && ((i, p) => onProgress(i, { step: p.step, totalSteps: p.totalSteps, predOriginalSample: p.predictedX0 })), signal),
    noiseDemo: async (input) => {
      const r = await engine.noiseDemo({ model: input.model, seed: input.seed, ...(input.image ? { image: input.image } : {}), ...(input.timesteps ? { timesteps: input.timesteps } : {}), ...(input.denoiseFrom !== undefined ? { denoiseFrom: input.denoiseFrom } : {}) });
      return { gridPng: r.gridPng, gif: r.gif };
    },
  };
}

export const renderPort: RenderPort = {
  toPng: (images, index) => (index === undefined ? batchPng(images) : imagePng(images, index)),
  previewPng: (tensor) => batchPng(tensor),
};

export async function startStack(label: string, options: { modelsDir?: string } = {}): Promise<Stack> {
  const silent = new Writable({ write: (_c, _e, cb) => cb() });
  const logger = createLogger({ level: process.env['TEST_LOG_LEVEL'] === 'debug' ? 'debug' : 'silent', destination: silent });
  const db: TestDatabase = await createTestDatabase(label);
  const engine = await Engine.load({ modelsDir: options.modelsDir ?? 'test/fixtures', threads: options.modelsDir ? 0 : 1 });
  const runtime = await startJobRuntime({
    config: testConfig({ DATABASE_URL: db.url, LIMIT_CONCURRENT_PER_USER: 8, LIMIT_PER_HOUR: 500, PROGRESS_MIN_INTERVAL_MS: 0 }),
    engine: enginePort(engine),
    render: renderPort,
    log: logger,
  });
  const ops = createOps({ config: { LOG_LEVEL: 'info', PLAYGROUND: true, METRICS: true }, db: runtime.db.pool, engine });
  const observe = httpObserver({ logger, metrics: ops.metrics });
  const handlers = [
    ops.routes,
    playgroundRoutes({ catalog: engine, service: runtime.service, requester: () => WEB_USER }),
    provisionalApi(runtime.service),
  ];
  const server = http.createServer((req, res) => {
    const { log } = observe(req, res);
    void (async () => {
      for (const h of handlers) if (await h(req, res)) return;
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
    })().catch((err: unknown) => {
      log.error({ err }, 'handler failed');
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'internal error' }));
      else res.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    engine,
    runtime,
    ops,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await runtime.close();
      await engine.close();
      await db.drop();
    },
  };
}

// ------------------------------------------------------------------------------------------------
// PROVISIONAL stand-in for src/adapters/web/api.ts (queue branch).
// ------------------------------------------------------------------------------------------------

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

function fail(res: ServerResponse, error: unknown): void {
  const e = error as { name?: string; message?: string; field?: string; retryAfterSeconds?: number };
  if (e.name === 'ValidationError' || e.name === 'ParamError') return json(res, 400, { error: e.message, field: e.field });
  if (e.name === 'RateLimitError') return json(res, 429, { error: e.message, retryAfterSeconds: e.retryAfterSeconds }, { 'Retry-After': String(e.retryAfterSeconds) });
  if (e.name === 'NotFoundError') return json(res, 404, { error: e.message });
  throw error;
}

function provisionalApi(service: GenerationService) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const p = (req.url ?? '/').split('?')[0]!;
    try {
      if (req.method === 'POST' && p === '/api/generate') {
        const params = JSON.parse((await body(req)).toString() || '{}') as unknown;
        json(res, 202, await service.submitGeneration({ requester: WEB_USER, params, replyTo: {} }));
        return true;
      }
      if (req.method === 'POST' && p === '/api/noise-demo') {
        const form = await new Request('http://x', { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body: await body(req) }).formData();
        const params: Record<string, unknown> = {};
        let image: Buffer | undefined;
        for (const [k, v] of form) {
          if (typeof v === 'string') params[k] = k === 'timesteps' ? v.split(',').map(Number) : k === 'model' ? v : Number(v);
          else if (k === 'image') image = Buffer.from(await v.arrayBuffer());
        }
        json(res, 202, await service.submitNoiseDemo({ requester: WEB_USER, params, image, replyTo: {} }));
        return true;
      }
      let m = /^\/api\/requests\/([0-9a-f-]{36})$/.exec(p);
      if (req.method === 'GET' && m) {
        const view = await service.getRequest(m[1]!);
        if (!view) json(res, 404, { error: 'no such request' });
        else json(res, 200, requestJson(view));
        return true;
      }
      m = /^\/api\/requests\/([0-9a-f-]{36})\/images\/(\d+|grid|gif)\.png$/.exec(p);
      if (req.method === 'GET' && m) {
        const index = /^\d+$/.test(m[2]!) ? Number(m[2]) : (m[2] as 'grid' | 'gif');
        const img = await service.getImage(m[1]!, index);
        if (!img) json(res, 404, { error: 'no such image' });
        else res.writeHead(200, { 'Content-Type': img.contentType }).end(img.bytes);
        return true;
      }
      m = /^\/api\/requests\/([0-9a-f-]{36})\/events$/.exec(p);
      if (req.method === 'GET' && m) {
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
        const stop = service.watch(m[1]!, (event) => {
          const data = event.type === 'progress' ? { ...event, previewPng: event.previewPng ? event.previewPng.toString('base64') : null } : event;
          res.write(`event: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`);
          if (event.type === 'succeeded' || event.type === 'failed' || event.type === 'cancelled') res.end();
        });
        res.once('close', stop);
        return true;
      }
      return false;
    } catch (error) {
      fail(res, error);
      return true;
    }
  };
}
