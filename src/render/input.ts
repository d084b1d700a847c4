/**
 * User images in: any common format (PNG, JPEG, WebP, GIF first frame), alpha composited on white,
 * centre-cropped and resized to the model's size. Oversized or non-image input is refused with a
 * message a user can act on.
 */
import sharp from 'sharp';
import type { Pixels } from './index.ts';

export const MAX_INPUT_BYTES = 10 * 1024 * 1024;
export const MAX_INPUT_SIDE = 4096;

export class ImageInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageInputError';
  }
}

const SUPPORTED = new Set(['png', 'jpeg', 'webp', 'gif']);

export async function loadImageForModel(
  input: Uint8Array,
  target: { channels: 1 | 3; width: number; height: number },
): Promise<Pixels> {
  if (input.byteLength === 0) throw new ImageInputError('the file is empty (0 bytes)');
  if (input.byteLength > MAX_INPUT_BYTES) {
    throw new ImageInputError(`the image is ${(input.byteLength / 1048576).toFixed(1)} MB; the limit is 10 MB`);
  }
  // limitInputPixels stops decompression bombs before any pixel buffer is allocated.
  const image = sharp(input, { limitInputPixels: MAX_INPUT_SIDE * MAX_INPUT_SIDE, pages: 1 });
  let meta: sharp.Metadata;
  try {
    meta = await image.metadata();
  } catch {
    throw new ImageInputError('the file is not an image (PNG, JPEG, WebP or GIF expected)');
  }
  if (!meta.format || !SUPPORTED.has(meta.format)) {
    throw new ImageInputError(`${meta.format ?? 'this'} images are not supported (PNG, JPEG, WebP or GIF expected)`);
  }
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (width > MAX_INPUT_SIDE || height > MAX_INPUT_SIDE) {
    throw new ImageInputError(`the image is ${width}x${height}; the limit is ${MAX_INPUT_SIDE}x${MAX_INPUT_SIDE}`);
  }
  try {
    let pipeline = image
      .rotate()
      .flatten({ background: '#ffffff' })
      .resize(target.width, target.height, { fit: 'cover', position: 'centre' });
    pipeline = target.channels === 1 ? pipeline.toColourspace('b-w') : pipeline.toColourspace('srgb');
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== target.channels) {
      throw new ImageInputError(`decoded ${info.channels} channels, expected ${target.channels}`);
    }
    return { data: new Uint8Array(data), width: info.width, height: info.height, channels: target.channels };
  } catch (error) {
    if (error instanceof ImageInputError) throw error;
    throw new ImageInputError(`the image could not be decoded (${error instanceof Error ? error.message : String(error)})`);
  }
}
