import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/ops/metrics.ts';

describe('Metrics', () => {
  it('exposes requests by platform and status, sampling and forward histograms, images and queue depth', async () => {
    let now = 1_000_000;
    const m = new Metrics({ processMetrics: false, now: () => now });
    m.requestSubmitted('discord', 'generate');
    m.requestFinished('discord', 'generate', 'succeeded');
    m.requestFinished('web', 'noise_demo', 'failed');
    m.observeBatch({ model: 'cifar10', sampler: 'ddim', samplingSeconds: 2, modelSeconds: 1.5, forwardPasses: 50, images: 4 });
    m.setQueueDepthSource(async () => 7);
    const text = await m.render();
    expect(text).toContain('ddpm_requests_submitted_total{platform="discord",kind="generate"} 1');
    expect(text).toContain('ddpm_requests_total{platform="discord",kind="generate",status="succeeded"} 1');
    expect(text).toContain('ddpm_requests_total{platform="web",kind="noise_demo",status="failed"} 1');
    expect(text).toContain('ddpm_sampling_seconds_count{model="cifar10",sampler="ddim"} 1');
    expect(text).toContain('ddpm_sampling_seconds_sum{model="cifar10",sampler="ddim"} 2');
    expect(text).toContain('ddpm_onnx_forward_seconds_sum{model="cifar10"} 0.03');
    expect(text).toContain('ddpm_images_generated_total{model="cifar10"} 4');
    expect(text).toContain('ddpm_queue_depth 7');
    expect(text).toMatch(/ddpm_images_per_second 0\.0666/);
    now += 61_000;
    expect(m.imagesPerSecond()).toBe(0);
    expect(m.contentType).toMatch(/^text\/plain/);
  });

  it('reports -1 queue depth when the source fails, and two instances do not share a registry', async () => {
    const a = new Metrics({ processMetrics: false });
    const b = new Metrics({ processMetrics: true });
    a.setQueueDepthSource(async () => {
      throw new Error('db down');
    });
    a.requestFinished('slack', 'generate', 'cancelled');
    expect(await a.render()).toContain('ddpm_queue_depth -1');
    const textB = await b.render();
    expect(textB).not.toContain('platform="slack"');
    expect(textB).toContain('ddpm_process_cpu_seconds_total');
  });
});
