/**
 * What a running request reports while it denoises: throttled progress (a row update plus a small
 * NOTIFY carrying the predicted-x0 preview), and the frames of its denoising animation.
 */
import type { Logger } from '../ops/logger.ts';
import type { Prisma } from '../db/client.ts';
import { recordProgress, type ClaimedRow } from '../db/queue-store.ts';
import { evenlySpaced, MAX_TRAJECTORY_FRAMES } from '../render/index.ts';
import { MAX_INLINE_PREVIEW_BASE64, type BusMessage, type EventBus } from './bus.ts';
import type { RenderPort, StepProgress } from './engine-port.ts';

export interface ProgressDeps {
  readonly prisma: Prisma;
  readonly bus: EventBus;
  readonly render: RenderPort;
  readonly log: Logger;
}

export interface ProgressOptions {
  readonly progressMinIntervalMs: number;
  readonly previews: boolean;
}

/** Progress of one request, at most every `progressMinIntervalMs` (the last step always). */
export class ProgressReporter {
  private lastAt = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly row: ClaimedRow,
    private readonly deps: ProgressDeps,
    private readonly options: ProgressOptions,
  ) {}

  report(p: StepProgress): void {
    const now = Date.now();
    if (p.step < p.totalSteps && now - this.lastAt < this.options.progressMinIntervalMs) return;
    this.lastAt = now;
    this.chain = this.chain.then(() => this.send(p)).catch((err: unknown) => this.deps.log.debug({ err }, 'progress update failed'));
  }

  private async send(p: StepProgress): Promise<void> {
    // The first image of the request stands for it in previews (chat edits show one picture).
    const png = this.options.previews ? await this.deps.render.imagePng(p.predictedX0, 0) : null;
    const base64 = png ? png.toString('base64') : null;
    const inline = base64 !== null && base64.length <= MAX_INLINE_PREVIEW_BASE64;
    await recordProgress(this.deps.prisma, this.row.id, this.row.attempts, p.step, p.totalSteps, png);
    const message: BusMessage = {
      t: 'progress',
      id: this.row.id,
      p: this.row.platform,
      s: p.step,
      n: p.totalSteps,
      ...(inline ? { png: base64 } : png ? { row: 1 as const } : {}),
    };
    await this.deps.bus.publish(message);
  }

  async flush(): Promise<void> {
    await this.chain;
  }
}

/**
 * The frames of a request's denoising animation: its first image's predicted x_0 at evenly spaced
 * steps, taken from every step's progress (not from the throttled previews, which a fast job barely has).
 * The last step is left out: its prediction is the final image, which closes the animation anyway.
 */
export class TrajectoryRecorder {
  private picks: ReadonlySet<number> | null = null;
  private readonly frames: Promise<Buffer>[] = [];

  constructor(private readonly render: RenderPort) {}

  record(p: StepProgress): void {
    this.picks ??= new Set(evenlySpaced(Array.from({ length: p.totalSteps - 1 }, (_, i) => i + 1), MAX_TRAJECTORY_FRAMES - 1));
    if (this.picks.has(p.step)) this.frames.push(this.render.imagePng(p.predictedX0, 0));
  }

  async gif(finalPng: Buffer): Promise<Buffer> {
    return this.render.trajectoryGif(await Promise.all(this.frames), finalPng);
  }
}
