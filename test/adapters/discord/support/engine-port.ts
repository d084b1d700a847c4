/**
 * The real Engine behind the job system's EnginePort/RenderPort seam (the render functions the CLI
 * uses), plus a gate tests close to hold jobs "running" (bot restarts, expiring tokens, rate
 * limits) without changing what the engine computes.
 */
import type { Engine } from '../../../../src/engine/index.ts';
import type { EnginePort } from '../../../../src/jobs/engine-port.ts';

export class JobGate {
  private opened: Promise<void> = Promise.resolve();
  private release: (() => void) | null = null;
  /** Jobs that reached the gate since it was last closed. */
  waiting = 0;

  close(): void {
    if (this.release) return;
    this.waiting = 0;
    this.opened = new Promise((resolve) => (this.release = resolve));
  }

  open(): void {
    this.release?.();
    this.release = null;
  }

  private failure: string | null = null;

  /** The next job that passes fails with this message (as an engine crash would). */
  failNext(message: string): void {
    this.failure = message;
  }

  async pass(): Promise<void> {
    if (this.release) this.waiting += 1;
    await this.opened;
    const failure = this.failure;
    this.failure = null;
    if (failure) throw new Error(failure);
  }
}

export function realEnginePort(engine: Engine, gate: JobGate): EnginePort {
  return {
    model: (name) => engine.model(name),
    validate: (params) => engine.validate(params),
    async generateBatch(params, onProgress, signal) {
      await gate.pass();
      return engine.generateBatch(params, onProgress, signal);
    },
    async noiseDemo(input) {
      await gate.pass();
      return engine.noiseDemo(input);
    },
    validateVariation: (params) => engine.validateVariation(params),
    validateInterpolation: (params) => engine.validateInterpolation(params),
    validateLabelInterpolation: (params) => engine.validateLabelInterpolation(params),
    validateImageInterpolation: (params) => engine.validateImageInterpolation(params),
    validateInversion: (params) => engine.validateInversion(params),
    sourceImage: (model, bytes) => engine.sourceImage(model, bytes),
    async vary(params, source, onProgress, signal) {
      await gate.pass();
      return engine.vary(params, source, onProgress, signal);
    },
    async interpolate(params, onProgress, signal) {
      await gate.pass();
      return engine.interpolate(params, onProgress, signal);
    },
    async interpolateLabels(params, onProgress, signal) {
      await gate.pass();
      return engine.interpolateLabels(params, onProgress, signal);
    },
    async interpolateFromImage(params, source, onProgress, signal) {
      await gate.pass();
      return engine.interpolateFromImage(params, source, onProgress, signal);
    },
    async invert(params, source, onProgress, signal) {
      await gate.pass();
      return engine.invert(params, source, onProgress, signal);
    },
  };
}

export { realRender } from '../../../../src/main.ts';
