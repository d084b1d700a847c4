/**
 * Prometheus metrics (prom-client) behind a small API the rest of the service calls. Each process
 * owns one `Metrics` with its own registry, so tests and several services in one process never
 * collide on prom-client's global registry.
 *
 * What feeds it:
 *   - per batch, via instrumentEngine() around the engine the worker uses: sampling seconds,
 *     mean ONNX forward seconds, images (for images/s)
 *   - at scrape time, from the database: ddpm_requests{platform,kind,status} and ddpm_queue_depth
 *   - optional calls for per-process counters, where the job system decides:
 *       submit (service):      metrics.requestSubmitted(platform, kind)
 *       final state (worker):  metrics.requestFinished(platform, kind, status)
 *       per ONNX forward:      metrics.observeForward(model, seconds)
 */
import client from 'prom-client';
import type { Platform, RequestKind, RequestStatus } from '../jobs/types.ts';

export type { Platform, RequestKind, RequestStatus };

export interface RequestCount {
  readonly platform: string;
  readonly kind: string;
  readonly status: string;
  readonly count: number;
}

export interface BatchObservation {
  readonly model: string;
  readonly sampler: string;
  /** Wall time of the denoising loop for the whole batch. */
  readonly samplingSeconds: number;
  /** Of which inside ONNX `session.run`. */
  readonly modelSeconds: number;
  /** Forward passes in the loop (the number of timesteps). */
  readonly forwardPasses: number;
  /** Images the batch produced (sum of the members' counts). */
  readonly images: number;
}

export interface MetricsOptions {
  /** Adds Node's process metrics (CPU, memory, event loop lag). Default true. */
  readonly processMetrics?: boolean;
  /** Window of the images/s gauge. Default 60 s. */
  readonly rateWindowSeconds?: number;
  readonly now?: () => number;
}

const SAMPLING_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320];
const FORWARD_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  readonly registry = new client.Registry();
  readonly contentType: string;
  private readonly submitted: client.Counter<'platform' | 'kind'>;
  private readonly finished: client.Counter<'platform' | 'kind' | 'status'>;
  private readonly sampling: client.Histogram<'model' | 'sampler'>;
  private readonly forward: client.Histogram<'model'>;
  private readonly imagesTotal: client.Counter<'model'>;
  private readonly http: client.Histogram<'method' | 'route' | 'status'>;
  private queueDepthSource: (() => Promise<number>) | undefined;
  private requestCountsSource: (() => Promise<readonly RequestCount[]>) | undefined;
  /** (time ms, images) of recent batches, for the images/s gauge. */
  private recentImages: Array<[number, number]> = [];
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(options: MetricsOptions = {}) {
    this.contentType = this.registry.contentType;
    this.windowMs = (options.rateWindowSeconds ?? 60) * 1000;
    this.now = options.now ?? Date.now;
    const registers = [this.registry];
    this.submitted = new client.Counter({
      name: 'ddpm_requests_submitted_total',
      help: 'Requests accepted into the queue, by platform and kind.',
      labelNames: ['platform', 'kind'],
      registers,
    });
    this.finished = new client.Counter({
      name: 'ddpm_requests_total',
      help: 'Requests that reached a final state, by platform, kind and status (succeeded, failed, cancelled).',
      labelNames: ['platform', 'kind', 'status'],
      registers,
    });
    this.sampling = new client.Histogram({
      name: 'ddpm_sampling_seconds',
      help: 'Wall time of one denoising loop (one batch), by model and sampler.',
      labelNames: ['model', 'sampler'],
      buckets: SAMPLING_BUCKETS,
      registers,
    });
    this.forward = new client.Histogram({
      name: 'ddpm_onnx_forward_seconds',
      help: 'Time of one ONNX forward pass of the noise model (per batch: the mean over its passes).',
      labelNames: ['model'],
      buckets: FORWARD_BUCKETS,
      registers,
    });
    this.imagesTotal = new client.Counter({
      name: 'ddpm_images_generated_total',
      help: 'Images produced by the sampler, by model (use rate() for images/s over any window).',
      labelNames: ['model'],
      registers,
    });
    this.http = new client.Histogram({
      name: 'ddpm_http_request_duration_seconds',
      help: 'HTTP requests by method, route and status (SSE streams count until they close).',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    // Gauges read at scrape time.
    const self = this;
    new client.Gauge({
      name: 'ddpm_images_per_second',
      help: 'Images produced per second over the last rate window (default 60 s), in this process.',
      registers,
      collect() {
        this.set(self.imagesPerSecond());
      },
    });
    new client.Gauge({
      name: 'ddpm_queue_depth',
      help: 'Requests waiting in the queue (status queued), across all processes. -1 if it could not be read.',
      registers,
      async collect() {
        if (!self.queueDepthSource) return;
        try {
          this.set(await self.queueDepthSource());
        } catch {
          this.set(-1);
        }
      },
    });
    new client.Gauge({
      name: 'ddpm_requests',
      help: 'Requests in the database by platform, kind and status (all processes; read at scrape time, so every replica reports the same: use max, not sum).',
      labelNames: ['platform', 'kind', 'status'],
      registers,
      async collect() {
        if (!self.requestCountsSource) return;
        this.reset();
        try {
          for (const c of await self.requestCountsSource()) this.set({ platform: c.platform, kind: c.kind, status: c.status }, c.count);
        } catch {
          // Left empty for this scrape; /healthz reports the database error.
        }
      },
    });
    if (options.processMetrics ?? true) client.collectDefaultMetrics({ register: this.registry, prefix: 'ddpm_' });
  }

  requestSubmitted(platform: Platform, kind: RequestKind): void {
    this.submitted.inc({ platform, kind });
  }

  requestFinished(platform: Platform, kind: RequestKind, status: RequestStatus): void {
    this.finished.inc({ platform, kind, status });
  }

  /** One sampling duration (seconds) outside a batch report, e.g. a noise demo's generation. */
  observeSampling(seconds: number, labels: { model: string; sampler: string }): void {
    this.sampling.observe(labels, seconds);
  }

  observeForward(model: string, seconds: number): void {
    this.forward.observe({ model }, seconds);
  }

  /** Everything one finished batch tells: sampling time, mean forward time, images (for images/s). */
  observeBatch(b: BatchObservation): void {
    this.sampling.observe({ model: b.model, sampler: b.sampler }, b.samplingSeconds);
    if (b.forwardPasses > 0) this.forward.observe({ model: b.model }, b.modelSeconds / b.forwardPasses);
    this.imagesProduced(b.model, b.images);
  }

  imagesProduced(model: string, images: number): void {
    if (images <= 0) return;
    this.imagesTotal.inc({ model }, images);
    this.recentImages.push([this.now(), images]);
  }

  observeHttp(method: string, route: string, status: number, seconds: number): void {
    this.http.observe({ method, route, status: String(status) }, seconds);
  }

  /** Where `ddpm_requests{platform,kind,status}` comes from (a GROUP BY over the requests table). */
  setRequestCountsSource(source: () => Promise<readonly RequestCount[]>): void {
    this.requestCountsSource = source;
  }

  /** Where `ddpm_queue_depth` comes from (e.g. a count of queued requests). */
  setQueueDepthSource(source: () => Promise<number>): void {
    this.queueDepthSource = source;
  }

  imagesPerSecond(): number {
    const cutoff = this.now() - this.windowMs;
    this.recentImages = this.recentImages.filter(([t]) => t > cutoff);
    const images = this.recentImages.reduce((n, [, k]) => n + k, 0);
    return images / (this.windowMs / 1000);
  }

  /** The exposition text for GET /metrics. */
  async render(): Promise<string> {
    return this.registry.metrics();
  }
}
