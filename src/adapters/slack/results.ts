/**
 * A finished request as a Slack upload: the files and the comment for what was asked (images, a
 * noise demo, or a denoising animation), read from the service so any bot process can post them.
 */
import type { GenerationService } from '../../jobs/service.ts';
import type { RequestView } from '../../jobs/types.ts';
import { gifFrameCount, upscalePng } from '../../render/index.ts';
import type { ParsedReplyTo } from './reply-to.ts';
import { caption, describeParams } from './text.ts';

interface Upload {
  readonly file: Buffer;
  readonly filename: string;
  readonly alt_text: string;
}

export async function resultUpload(
  service: GenerationService,
  view: RequestView,
  reply: ParsedReplyTo,
): Promise<{ initial_comment: string; file_uploads: Upload[] }> {
  if (reply.purpose !== 'animation' || view.kind !== 'generate') return { initial_comment: caption(view), file_uploads: await resultFiles(service, view) };
  // The worker recorded it (the replay asked for its trajectory), so any process can post it.
  const stored = await service.getImage(view.id, 'gif');
  if (!stored) throw new Error(`request ${view.id} has no denoising animation`);
  const gif = stored.bytes;
  const frames = await gifFrameCount(gif);
  const of = reply.sourceRequestId ? ` of \`${reply.sourceRequestId}\`` : '';
  return {
    initial_comment: `Denoising animation${of} for <@${reply.userId}> (${frames} frames of the predicted x₀, ending on the result): ${describeParams(view)} · request \`${view.id}\``,
    file_uploads: [{ file: gif, filename: `ddpm-${view.model}-${view.seed}-denoising.gif`, alt_text: `Denoising animation, ${describeParams(view)}` }],
  };
}

async function resultFiles(service: GenerationService, view: RequestView): Promise<Upload[]> {
  const base = `ddpm-${view.model}-${view.seed}`;
  if (view.kind === 'noise_demo') {
    const [grid, gif] = await Promise.all([service.getImage(view.id, 'grid'), service.getImage(view.id, 'gif')]);
    if (!grid || !gif) throw new Error(`request ${view.id} has no noise-demo images`);
    const files = [
      { file: grid.bytes, filename: `${base}-noise.png`, alt_text: `Forward process at timesteps, ${describeParams(view)}` },
      { file: gif.bytes, filename: `${base}-noise.gif`, alt_text: 'Forward process animation' },
    ];
    if (view.images.some((i) => i.index === 'reconstruction')) {
      const reconstruction = await service.getImage(view.id, 'reconstruction');
      if (reconstruction) {
        const from = view.noiseDemo?.denoiseFrom;
        files.push({ file: await upscalePng(reconstruction.bytes), filename: `${base}-reconstruction.png`, alt_text: `Reconstruction from x_t at t=${from ?? '?'}` });
      }
    }
    return files;
  }
  if (view.kind === 'interpolate') {
    const [strip, gif] = await Promise.all([service.getImage(view.id, 'grid'), service.getImage(view.id, 'gif')]);
    if (!strip || !gif) throw new Error(`request ${view.id} has no interpolation images`);
    return [
      { file: await upscalePng(strip.bytes), filename: `${base}-interpolation.png`, alt_text: `Interpolation frames, ${describeParams(view)}` },
      { file: gif.bytes, filename: `${base}-interpolation.gif`, alt_text: 'Interpolation animation' },
    ];
  }
  if (view.kind === 'invert') {
    const pair = await service.getImage(view.id, 'grid');
    if (!pair) throw new Error(`request ${view.id} has no inversion images`);
    return [{ file: await upscalePng(pair.bytes), filename: `ddpm-${view.model}-inversion-${view.steps ?? 0}-steps.png`, alt_text: `The image beside its reconstruction, ${describeParams(view)}` }];
  }
  const image = await service.getImage(view.id, view.count > 1 ? 'grid' : 0);
  if (!image) throw new Error(`request ${view.id} has no image`);
  // Native sizes are 8..64 px; Slack blurs those, so upload an integer nearest-neighbour upscale.
  return [{ file: await upscalePng(image.bytes), filename: `${base}.png`, alt_text: `Generated image, ${describeParams(view)}` }];
}
