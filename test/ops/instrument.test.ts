import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { EnginePort } from '../../src/jobs/engine-port.ts';
import { httpObserver } from '../../src/ops/http.ts';
import { instrumentEngine, instrumentServer } from '../../src/ops/instrument.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { Metrics } from '../../src/ops/metrics.ts';

describe('instrumentServer', () => {
  it('puts the request id on every line logged while a request is handled, even from the process logger after an await', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({
      level: 'info',
      destination: new Writable({
        write(chunk: Buffer, _e, cb) {
          for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
          cb();
        },
      }),
    });
    const server = http.createServer((_req, res) => {
      void (async () => {
        await new Promise((r) => setTimeout(r, 5));
        logger.info('deep inside');
        res.end('ok');
      })();
    });
    instrumentServer(server, httpObserver({ logger }));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`, { headers: { 'x-request-id': 'r-1' } });
    logger.info('outside');
    await new Promise((r) => setTimeout(r, 50));
    server.close();
    expect(lines.find((l) => l['msg'] === 'deep inside')?.['reqId']).toBe('r-1');
    expect(lines.find((l) => l['msg'] === 'outside')?.['reqId']).toBeUndefined();
    const access = lines.filter((l) => l['msg'] === 'request');
    expect(access).toHaveLength(1);
    expect(Object.keys(access[0]!).filter((k) => k === 'reqId')).toHaveLength(1);
  });
});

describe('instrumentEngine', () => {
  it('observes each batch: sampling seconds, mean forward seconds and images, and passes everything through', async () => {
    const progress: number[] = [];
    const engine: EnginePort = {
      model: () => ({ name: 'm', manifest: { scheduler: { num_train_timesteps: 1000 }, image: { channels: 1, height: 8, width: 8 } } }),
      validate: () => ({ model: 'm', sampler: 'ddim', steps: 4, options: {}, label: null, guidance: null, seed: 1, count: 2 }),
      noiseDemo: () => Promise.reject(new Error('unused')),
      validateVariation: () => ({ model: 'm', sampler: 'ddim', steps: 4, options: {}, label: null, guidance: null, seed: 1, count: 1, strength: 0.3 }),
      validateInterpolation: () => {
        throw new Error('unused');
      },
      validateLabelInterpolation: () => {
        throw new Error('unused');
      },
      validateImageInterpolation: () => {
        throw new Error('unused');
      },
      validateInversion: () => {
        throw new Error('unused');
      },
      sourceImage: () => Promise.reject(new Error('unused')),
      vary: () => Promise.reject(new Error('unused')),
      interpolate: () => Promise.reject(new Error('unused')),
      interpolateLabels: () => Promise.reject(new Error('unused')),
      interpolateFromImage: () => Promise.reject(new Error('unused')),
      invert: () => Promise.reject(new Error('unused')),
      async generateBatch(params, onProgress) {
        for (let s = 1; s <= 4; s++) onProgress?.(0, { step: s, totalSteps: 4, timestep: 999 - s, predictedX0: { data: new Float32Array(1), shape: [1] } });
        return params.map((p) => ({ images: { data: new Float32Array(p.count), shape: [p.count] }, seed: p.seed, samplingMs: 2000, modelMs: 400 }));
      },
    };
    const metrics = new Metrics({ processMetrics: false });
    const wrapped = instrumentEngine(engine, metrics);
    const params = wrapped.validate({});
    const results = await wrapped.generateBatch([params, { ...params, seed: 2, count: 3 }], (_i, p) => progress.push(p.step));
    expect(results).toHaveLength(2);
    expect(progress).toEqual([1, 2, 3, 4]);
    const text = await metrics.render();
    expect(text).toContain('ddpm_sampling_seconds_sum{model="m",sampler="ddim"} 2');
    expect(text).toContain('ddpm_onnx_forward_seconds_sum{model="m"} 0.1');
    expect(text).toContain('ddpm_images_generated_total{model="m"} 5');
    expect(wrapped.model('m').name).toBe('m');
    expect(wrapped.validateVariation({}).strength).toBe(0.3);
  });
});
