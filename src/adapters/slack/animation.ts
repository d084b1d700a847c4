/**
 * The denoising animation behind the Animation button: the predicted-x_0 previews the worker publishes
 * while it replays a request (same seed, same trajectory), as a GIF that ends on the final image.
 */
import sharp from 'sharp';
import type { Pixels } from '../../render/index.ts';
import { animation, evenlySpaced } from '../../render/index.ts';

/** Frames kept in one GIF (the final image is always the last). */
export const MAX_ANIMATION_FRAMES = 60;
/** Previews kept in memory per request before thinning (every other one is dropped). */
const MAX_KEPT_PREVIEWS = 2 * MAX_ANIMATION_FRAMES;
/** Chat clients blur tiny images: frames are enlarged (nearest neighbour) to at least this side. */
const DISPLAY_MIN_SIDE = 256;

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

async function rgb(png: Buffer, width?: number, height?: number): Promise<Pixels> {
  let image = sharp(png).removeAlpha().toColourspace('srgb');
  if (width && height) image = image.resize(width, height, { kernel: 'nearest', fit: 'fill' });
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
}

/** GIF of the previews (evenly thinned) followed by the final image, all at the final image's size, enlarged for display. */
export async function trajectoryGif(previews: readonly Buffer[], finalPng: Buffer): Promise<{ gif: Buffer; frames: number }> {
  const final = await rgb(finalPng);
  const frames = await Promise.all(evenlySpaced(previews, MAX_ANIMATION_FRAMES - 1).map((p) => rgb(p, final.width, final.height)));
  const all = [...frames, final];
  const scale = Math.max(1, Math.ceil(DISPLAY_MIN_SIDE / Math.min(final.width, final.height)));
  return { gif: await animation(all, { scale, delayMs: 100 }), frames: all.length };
}
