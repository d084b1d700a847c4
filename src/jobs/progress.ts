/**
 * What a running batch reports while it denoises: throttled progress (the rows' progress and a small
 * NOTIFY per request carrying its predicted-x0 preview), and the frames of its denoising animation.
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

/**
 * Progress of a batch's requests, at most every `progressMinIntervalMs` (the first step at once). No
 * last step is forced: the final event follows it at once and says more, and waiting for one more
 * write before finishing was a fast request's largest cost (a third of its time at one client). The
 * engine reports every member of a step one after another, synchronously, so a step's reports are
 * gathered and sent together: one statement, the progress write with its events, for the whole batch.
 * A preview is encoded once and travels once: inline in its NOTIFY, or, when too large for one,
 * stored in the row for the reader to fetch.
 */
export class ProgressReporter {
  private lastAt = 0;
  private step = 0;
  /** The reports of the step being gathered; null when that step is not sent. */
  private gathering: Map<number, StepProgress> | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly rows: readonly ClaimedRow[],
    private readonly deps: ProgressDeps,
    private readonly options: ProgressOptions,
  ) {}

  /** Member `index` of the batch reached `p.step`. */
  report(index: number, p: StepProgress): void {
    if (p.step !== this.step) {
      this.step = p.step;
      const now = Date.now();
      if (now - this.lastAt < this.options.progressMinIntervalMs) return;
      this.lastAt = now;
      this.gathering = new Map();
      // Runs once this step's synchronous reports are all in.
      queueMicrotask(() => this.sendGathered());
    }
    this.gathering?.set(index, p);
  }

  private sendGathered(): void {
    const step = this.gathering;
    this.gathering = null;
    if (!step || step.size === 0) return;
    this.chain = this.chain.then(() => this.send(step)).catch((err: unknown) => this.deps.log.debug({ err }, 'progress update failed'));
  }

  private async send(step: ReadonlyMap<number, StepProgress>): Promise<void> {
    const members = [...step].map(([index, p]) => ({ row: this.rows[index]!, p }));
    // The first image of each request stands for it in previews (chat edits show one picture).
    const pngs = await Promise.all(members.map(({ p }) => (this.options.previews ? this.deps.render.imagePng(p.predictedX0, 0) : null)));
    const inline = pngs.map((png) => (png && Math.ceil(png.length / 3) * 4 <= MAX_INLINE_PREVIEW_BASE64 ? png.toString('base64') : null));
    const events = members.map(({ row, p }, i) => {
      const png = inline[i];
      const m: BusMessage = { t: 'progress', id: row.id, p: row.platform, s: p.step, n: p.totalSteps, ...(png ? { png } : pngs[i] ? { row: 1 as const } : {}) };
      return JSON.stringify(m);
    });
    await recordProgress(
      this.deps.prisma,
      members.map(({ row, p }, i) => ({ id: row.id, attempt: row.attempts, step: p.step, total: p.totalSteps, previewPng: inline[i] ? null : pngs[i]!, event: events[i]! })),
      this.deps.bus.channel,
    );
    await this.deps.bus.carried(events);
  }

  /**
   * Runs `encode` (the results, once sampling is done) while the last progress write goes out, and
   * resolves when both are done, so that the final event cannot overtake it.
   */
  async flushDuring<T>(encode: () => Promise<T>): Promise<T> {
    this.sendGathered();
    const sent = this.chain;
    const result = await encode();
    await sent;
    return result;
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
