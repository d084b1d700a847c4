/**
 * A finished request as a Discord message: fetches its stored images from the service and builds
 * the message for what was asked (images, noise demo, denoising animation, or the failure).
 */
import sharp from 'sharp';
import type { GenerationService, RequestView } from '../../jobs/service.ts';
import type { Pixels } from '../../render/index.ts';
import { animation, evenlySpaced, upscalePng } from '../../render/index.ts';
import type { EngineCatalog } from './context.ts';
import {
  animationResultMessage,
  failedMessage,
  generationResultMessage,
  noiseDemoResultMessage,
} from './messages.ts';
import type { OutgoingMessage, ReplyTarget } from './reply-target.ts';

/** Chat clients blur tiny images; results are enlarged (nearest neighbour) to at least this side. */
export const DISPLAY_MIN_SIDE = 256;
/** GIF frames kept from a trajectory (the last one is always kept). */
const MAX_ANIMATION_FRAMES = 60;

async function requireImage(service: GenerationService, id: string, index: number | 'grid' | 'gif'): Promise<Buffer> {
  const image = await service.getImage(id, index);
  if (!image) throw new Error(`request ${id} has no stored image ${String(index)}`);
  return image.bytes;
}

/** PNG to RGB pixels (frames of one animation must share channels, whatever the PNGs had). */
export async function pngPixels(png: Buffer): Promise<Pixels> {
  const { data, info } = await sharp(png).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
}

async function scaledTo(pixels: Pixels, width: number, height: number): Promise<Pixels> {
  if (pixels.width === width && pixels.height === height) return pixels;
  const { data, info } = await sharp(Buffer.from(pixels.data), { raw: { width: pixels.width, height: pixels.height, channels: pixels.channels } })
    .resize(width, height, { kernel: 'nearest', fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
}

/** A GIF of predicted-x_0 previews ending on the final image, enlarged for display. */
export async function trajectoryGif(previews: readonly Buffer[], finalPng: Buffer): Promise<{ gif: Buffer; frames: number }> {
  const final = await pngPixels(finalPng);
  const frames = await Promise.all(evenlySpaced([...previews], MAX_ANIMATION_FRAMES - 1).map(pngPixels));
  // Previews may be rendered at another size than the final image; show all at the final's size.
  const sized = await Promise.all(frames.map((f) => scaledTo(f, final.width, final.height)));
  const all = [...sized, final];
  const scale = Math.max(1, Math.ceil(DISPLAY_MIN_SIDE / Math.min(final.width, final.height)));
  return { gif: await animation(all, { scale, delayMs: 100 }), frames: all.length };
}

export async function renderFinal(
  service: GenerationService,
  engine: EngineCatalog,
  view: RequestView,
  target: ReplyTarget,
  previews: readonly Buffer[],
): Promise<OutgoingMessage> {
  if (view.status !== 'succeeded') return failedMessage(view);
  if (view.kind === 'noise_demo') {
    const grid = await requireImage(service, view.id, 'grid');
    const gifImage = await service.getImage(view.id, 'gif');
    const reconstruction = await service.getImage(view.id, 'reconstruction');
    return noiseDemoResultMessage(view, grid, gifImage?.bytes ?? null, reconstruction?.bytes ?? null);
  }
  if (target.purpose === 'animation') {
    // Workers preview a request's first image, so the animation follows (and ends on) that one.
    const final = await requireImage(service, view.id, 0);
    const { gif, frames } = await trajectoryGif(previews, final);
    return animationResultMessage(view, gif, frames, target.sourceRequestId);
  }
  const originals = await Promise.all(Array.from({ length: view.count }, (_, i) => requireImage(service, view.id, i)));
  const grid = view.count > 1 ? await requireImage(service, view.id, 'grid') : originals[0]!;
  return generationResultMessage(engine, view, await upscalePng(grid, DISPLAY_MIN_SIDE), originals);
}
