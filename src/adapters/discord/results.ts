/**
 * A finished request as a Discord message: fetches its stored images from the service and builds
 * the message for what was asked (images, noise demo, denoising animation, or the failure).
 */
import type { GenerationService, ImageIndex, RequestView } from '../../jobs/service.ts';
import { DISPLAY_MIN_SIDE, gifFrameCount, upscalePng } from '../../render/index.ts';
import type { Catalog } from '../../engine/catalog.ts';
import {
  animationResultMessage,
  failedMessage,
  generationResultMessage,
  interpolationResultMessage,
  inversionResultMessage,
  noiseDemoResultMessage,
} from './messages.ts';
import type { OutgoingMessage, ReplyTarget } from './reply-target.ts';

async function requireImage(service: GenerationService, id: string, index: ImageIndex): Promise<Buffer> {
  const image = await service.getImage(id, index);
  if (!image) throw new Error(`request ${id} has no stored image ${String(index)}`);
  return image.bytes;
}

export async function renderFinal(
  service: GenerationService,
  catalog: Catalog,
  view: RequestView,
  target: ReplyTarget,
): Promise<OutgoingMessage> {
  if (view.status !== 'succeeded') return failedMessage(view);
  if (view.kind === 'noise_demo') {
    const grid = await requireImage(service, view.id, 'grid');
    const gifImage = await service.getImage(view.id, 'gif');
    const reconstruction = await service.getImage(view.id, 'reconstruction');
    return noiseDemoResultMessage(view, grid, gifImage?.bytes ?? null, reconstruction?.bytes ?? null);
  }
  if (target.purpose === 'animation') {
    // The worker recorded it (the replay asked for its trajectory): the first image's predicted x_0, then that image.
    const gif = await requireImage(service, view.id, 'gif');
    return animationResultMessage(view, gif, await gifFrameCount(gif), target.sourceRequestId);
  }
  if (view.kind === 'interpolate') {
    const strip = await requireImage(service, view.id, 'grid');
    return interpolationResultMessage(catalog, view, await upscalePng(strip, DISPLAY_MIN_SIDE), await requireImage(service, view.id, 'gif'));
  }
  if (view.kind === 'invert') {
    const [grid, source, reconstruction] = await Promise.all([requireImage(service, view.id, 'grid'), requireImage(service, view.id, 0), requireImage(service, view.id, 'reconstruction')]);
    return inversionResultMessage(catalog, view, await upscalePng(grid, DISPLAY_MIN_SIDE), source, reconstruction);
  }
  const originals = await Promise.all(Array.from({ length: view.count }, (_, i) => requireImage(service, view.id, i)));
  const grid = view.count > 1 ? await requireImage(service, view.id, 'grid') : originals[0]!;
  return generationResultMessage(catalog, view, await upscalePng(grid, DISPLAY_MIN_SIDE), originals);
}
