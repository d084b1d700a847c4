/**
 * The denoising animation behind the Animation button: the predicted-x_0 previews the worker publishes
 * while it replays a request (same seed, same trajectory), recorded here and turned into a GIF by
 * src/render's trajectoryGif.
 */
import { MAX_TRAJECTORY_FRAMES } from '../../render/index.ts';

/** Previews kept in memory per request before thinning (every other one is dropped). */
const MAX_KEPT_PREVIEWS = 2 * MAX_TRAJECTORY_FRAMES;

/** Collects previews with bounded memory, keeping them evenly spread over the whole run. */
export class PreviewRecorder {
  private frames: Buffer[] = [];
  private stride = 1;
  private seen = 0;

  add(png: Buffer): void {
    if (this.seen++ % this.stride !== 0) return;
    this.frames.push(png);
    if (this.frames.length >= MAX_KEPT_PREVIEWS) {
      this.frames = this.frames.filter((_, i) => i % 2 === 0);
      this.stride *= 2;
    }
  }

  get previews(): readonly Buffer[] {
    return this.frames;
  }
}
