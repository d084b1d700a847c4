import pino from 'pino';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlaygroundCatalog } from '../../../src/adapters/web/playground.ts';
import { asCatalog, registerPlayground } from '../../../src/adapters/web/playground.ts';
import { HttpServer } from '../../../src/server/http.ts';

const tiny = { name: 'tiny', manifest: { description: 'test', image: { channels: 1, height: 8, width: 8 }, scheduler: { num_train_timesteps: 1000 } } };
const short = {
  name: 'short',
  manifest: {
    image: { channels: 3, height: 32, width: 32 },
    scheduler: { num_train_timesteps: 100 },
    conditioning: { classes: ['cat', 'dog'], default_guidance_scale: 3 },
  },
};
const catalog: PlaygroundCatalog = {
  // The default is not the first model: pickers must follow defaultModel(), not the order.
  models: { list: () => [tiny, short], defaultModel: () => short },
  samplers: {
    list: () => [
      {
        name: 'ddim',
        description: 'DDIM',
        stepLimits: (T: number) => ({ min: 1, max: T, default: Math.min(50, T) }),
        options: z.object({ eta: z.number().min(0).max(1).default(0).describe('noise weight') }).strict(),
      },
      { name: 'ddpm', description: 'DDPM', stepLimits: (T: number) => ({ min: 1, max: T, default: T }), options: z.object({}).strict() },
    ],
  },
};

let http: HttpServer;
let base = '';
beforeAll(async () => {
  http = new HttpServer({ log: pino({ level: 'silent' }) });
  registerPlayground(http, { catalog });
  base = `http://127.0.0.1:${await http.listen(0, '127.0.0.1')}`;
});
afterAll(() => http.close());

describe('playground routes', () => {
  it('serves the page and its assets, and nothing else from disk', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<label for="command"');
    expect((await fetch(`${base}/playground`)).status).toBe(200);
    const js = await fetch(`${base}/playground/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${base}/playground/style.css`)).status).toBe(200);
    expect((await fetch(`${base}/playground/..%2F..%2Fplayground.ts`)).status).toBe(404);
    expect((await fetch(`${base}/playground/nope.js`)).status).toBe(404);
    expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${base}/`, { method: 'HEAD' })).status).toBe(200);
  });

  it('lists models (classes, default guidance, the default model) and samplers with step limits for the chosen model', async () => {
    const models = (await (await fetch(`${base}/api/models`)).json()) as { models: Array<Record<string, unknown>> };
    expect(models.models.map((m) => m.name)).toEqual(['tiny', 'short']);
    expect(models.models[0]).toMatchObject({ image: { width: 8 }, default: false, conditioning: null });
    expect(models.models[1]).toMatchObject({ default: true, conditioning: { classes: ['cat', 'dog'], defaultGuidance: 3 } });
    // Without ?model=, the limits are the default model's (short, T = 100).
    const s = (await (await fetch(`${base}/api/samplers`)).json()) as { samplers: Array<{ name: string; steps: { default: number } }> };
    expect(s.samplers).toEqual([
      // Options as their serialisable description, derived from the plugin's zod schema.
      { name: 'ddim', description: 'DDIM', steps: { min: 1, max: 100, default: 50 }, options: [{ name: 'eta', description: 'noise weight', type: 'number', integer: false, min: 0, max: 1, default: 0 }] },
      { name: 'ddpm', description: 'DDPM', steps: { min: 1, max: 100, default: 100 }, options: [] },
    ]);
    const forTiny = (await (await fetch(`${base}/api/samplers?model=tiny`)).json()) as { samplers: Array<{ steps: { default: number } }> };
    expect(forTiny.samplers[1]?.steps.default).toBe(1000);
    const unknown = await fetch(`${base}/api/samplers?model=nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ field: 'model' });
  });

  it('recognises an engine that can list models and samplers', () => {
    expect(asCatalog(catalog)).toBe(catalog);
    expect(asCatalog({ model: () => null })).toBeNull();
    expect(asCatalog(null)).toBeNull();
  });
});
