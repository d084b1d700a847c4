import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from '../../../src/engine/catalog.ts';
import { ValidationError } from '../../../src/engine/errors.ts';
import { SamplerRegistry } from '../../../src/engine/samplers.ts';
import { registerPlayground } from '../../../src/adapters/web/playground.ts';
import { manifestSchema } from '../../../src/model/manifest.ts';
import type { InstalledModel } from '../../../src/model/registry.ts';
import { HttpServer } from '../../../src/server/http.ts';

function installed(manifest: Record<string, unknown>): InstalledModel {
  const scheduler = { beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear', prediction_type: 'epsilon' };
  const parsed = manifestSchema.parse({ onnx: 'model.onnx', ...manifest, scheduler: { ...scheduler, ...(manifest['scheduler'] as object) } });
  return { name: parsed.name, dir: `/nowhere/${parsed.name}`, manifest: parsed };
}

const tiny = installed({ name: 'tiny', description: 'test', image: { channels: 1, height: 8, width: 8 }, scheduler: { num_train_timesteps: 1000 } });
const short = installed({
  name: 'short',
  image: { channels: 3, height: 32, width: 32 },
  scheduler: { num_train_timesteps: 100 },
  conditioning: { type: 'class', classes: ['cat', 'dog'], null_class: 2, default_guidance_scale: 3 },
});
// The real ddim and ddpm plugins, listed in that order.
const plugins = await SamplerRegistry.discover();
const samplers = ['ddim', 'ddpm'].map((name) => plugins.find(name)!);
const models = [tiny, short];
const catalog: Catalog = {
  // The default is not the first model: pickers must follow defaultModel(), not the order.
  models: { list: () => models, find: (name) => models.find((m) => m.name === name), defaultModel: () => short },
  samplers: { list: () => samplers, find: (name) => samplers.find((p) => p.name === name) },
  model: (name) => models.find((m) => m.name === name) ?? (() => { throw new ValidationError('model', `unknown model "${name}"`); })(),
  sampler: (name) => samplers.find((p) => p.name === name) ?? (() => { throw new ValidationError('sampler', `unknown sampler "${name}"`); })(),
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

  it('serves every module app.js imports, directly or not, as JavaScript under the page CSP', async () => {
    const served = new Set<string>();
    const pending = ['app.js'];
    for (let file = pending.pop(); file; file = pending.pop()) {
      if (served.has(file)) continue;
      const res = await fetch(`${base}/playground/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type'), file).toBe('text/javascript; charset=utf-8');
      expect(res.headers.get('content-security-policy'), file).toContain("script-src 'self'");
      served.add(file);
      for (const [, name] of (await res.text()).matchAll(/from '\.\/([\w-]+\.js)'/g)) pending.push(name!);
    }
    expect([...served]).toEqual(expect.arrayContaining(['app.js', 'viewer.js', 'gallery.js', 'tracking.js']));
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
      { name: 'ddim', description: samplers[0]!.description, steps: { min: 1, max: 100, default: 50 }, options: expect.arrayContaining([expect.objectContaining({ name: 'eta', type: 'number', min: 0, max: 1, default: 0 })]) },
      { name: 'ddpm', description: samplers[1]!.description, steps: { min: 1, max: 100, default: 100 }, options: expect.any(Array) },
    ]);
    const forTiny = (await (await fetch(`${base}/api/samplers?model=tiny`)).json()) as { samplers: Array<{ steps: { default: number } }> };
    expect(forTiny.samplers[1]?.steps.default).toBe(1000);
    const unknown = await fetch(`${base}/api/samplers?model=nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ field: 'model' });
  });
});
