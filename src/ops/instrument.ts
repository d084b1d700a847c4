/**
 * Metrics and request ids without touching the code that does the work: the engine the worker
 * uses is wrapped so every batch is measured, and the HTTP server's request listeners run inside
 * a request context so every log line they write carries the request id.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { EnginePort } from '../jobs/engine-port.ts';
import type { RequestLog } from './logger.ts';
import { requestContext } from './logger.ts';
import type { Metrics } from './metrics.ts';

/**
 * The same engine, observed: per batch the sampling seconds (model, sampler), the mean ONNX
 * forward seconds (modelMs / forward passes) and the images it produced (images/s).
 */
export function instrumentEngine(engine: EnginePort, metrics: Metrics): EnginePort {
  return {
    model: (name) => engine.model(name),
    validate: (params) => engine.validate(params),
    noiseDemo: (input) => engine.noiseDemo(input),
    // Variations, interpolations and inversions run one request at a time; the batch metrics are the generations'.
    validateVariation: (params) => engine.validateVariation(params),
    validateInterpolation: (params) => engine.validateInterpolation(params),
    validateLabelInterpolation: (params) => engine.validateLabelInterpolation(params),
    validateImageInterpolation: (params) => engine.validateImageInterpolation(params),
    validateInversion: (params) => engine.validateInversion(params),
    sourceImage: (model, bytes) => engine.sourceImage(model, bytes),
    vary: (params, source, onProgress, signal) => engine.vary(params, source, onProgress, signal),
    interpolate: (params, onProgress, signal) => engine.interpolate(params, onProgress, signal),
    interpolateLabels: (params, onProgress, signal) => engine.interpolateLabels(params, onProgress, signal),
    interpolateFromImage: (params, source, onProgress, signal) => engine.interpolateFromImage(params, source, onProgress, signal),
    invert: (params, source, onProgress, signal) => engine.invert(params, source, onProgress, signal),
    async generateBatch(params, onProgress, signal) {
      let passes = params[0]?.steps ?? 0;
      const progress: typeof onProgress = onProgress
        ? (i, p) => {
            passes = p.totalSteps;
            onProgress(i, p);
          }
        : undefined;
      const results = await engine.generateBatch(params, progress, signal);
      const first = params[0];
      const result = results[0];
      if (first && result) {
        metrics.observeBatch({
          model: first.model,
          sampler: first.sampler,
          samplingSeconds: result.samplingMs / 1000,
          modelSeconds: result.modelMs / 1000,
          forwardPasses: passes,
          images: params.reduce((n, p) => n + p.count, 0),
        });
      }
      return results;
    },
  };
}

/**
 * Runs every 'request' listener of `server` (the router, anything mounted) inside a request
 * context: `observe` assigns the id and logs the request, and loggers made by createLogger add
 * `reqId` to every line written while the request is handled, however deep.
 */
export function instrumentServer(server: Server, observe: (req: IncomingMessage, res: ServerResponse) => RequestLog): void {
  const listeners = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const { id } = observe(req, res);
    requestContext.run({ reqId: id }, () => {
      for (const listener of listeners) listener.call(server, req, res);
    });
  });
}
