import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { animation, batchPng, fromPixels, gridPng, imagePng, toPixels, upscalePng } from '../../src/render/index.ts';
import { ImageInputError, loadImageForModel } from '../../src/render/input.ts';

describe('output quantization round(clamp((x + 1) / 2, 0, 1) * 255)', () => {
  it('maps model space to bytes like diffusers (half to even, clamped)', () => {
    const values = [-1, 1, 0, -2, 3, 0.5, -0.5, 1 / 255 - 1];
    const px = toPixels({ data: Float32Array.from(values), shape: [1, 1, 1, values.length] });
    // 0 -> 0.5 * 255 = 127.5 -> 128 (half to even); 0.5 -> 191.25 -> 191; -0.5 -> 63.75 -> 64; 1/255 - 1 -> 0.5 -> 0
    expect(Array.from(px.data)).toEqual([0, 255, 128, 0, 255, 191, 64, 0]);
  });

  it('interleaves channels (CHW -> HWC) and round-trips through fromPixels', () => {
    const data = Float32Array.from([-1, 1, 1, -1, -1, -1]); // R plane, G plane, B plane of a 1x2 image
    const px = toPixels({ data, shape: [1, 3, 1, 2] });
    expect(Array.from(px.data)).toEqual([0, 255, 0, 255, 0, 0]);
    expect(Array.from(fromPixels(px).data)).toEqual(Array.from(data));
  });
});

describe('pictures', () => {
  const batch = { data: Float32Array.from({ length: 3 * 16 }, (_, i) => ((i * 37) % 100) / 50 - 1), shape: [3, 1, 4, 4] };

  it('writes one image as a PNG of the native size with the exact pixels', async () => {
    const png = await imagePng(batch, 1);
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([4, 4, 1]);
    const { data } = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    expect(Array.from(data)).toEqual(Array.from(toPixels(batch, 1).data));
  });

  it('lays a batch out as a labelled grid that contains every image', async () => {
    const png = await batchPng(batch);
    const meta = await sharp(png).metadata();
    expect(meta.width).toBeGreaterThan(8);
    const cells = [0, 1, 2].map((i) => toPixels(batch, i));
    const grid = await gridPng(cells, { columns: 3 });
    // Unlabelled grid: cell i starts at x = 4 + i * (4 + 4), y = 4.
    const { data, info } = await sharp(grid).raw().toBuffer({ resolveWithObject: true });
    for (const [i, cell] of cells.entries()) {
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 4; x++) {
          expect(data[((4 + y) * info.width + 4 + i * 8 + x) * info.channels]).toBe(cell.data[y * 4 + x]);
        }
      }
    }
  });

  it('upscales small images by an integer nearest-neighbour factor to at least 256 px', async () => {
    const png = await imagePng({ data: new Float32Array(28 * 28).fill(0.2), shape: [1, 1, 28, 28] });
    const big = await upscalePng(png);
    const meta = await sharp(big).metadata();
    expect([meta.width, meta.height]).toEqual([280, 280]);
  });

  it('makes an animated GIF and WebP with one page per frame', async () => {
    const frames = [0, 1, 2, 3].map((i) => toPixels(batch, i % 3));
    const gif = await animation(frames, { scale: 2 });
    const webp = await animation(frames, { format: 'webp' });
    expect((await sharp(gif, { animated: true }).metadata()).pages).toBe(4);
    expect((await sharp(webp, { animated: true }).metadata()).pages).toBe(4);
  });
});

describe('user images', () => {
  const target = { channels: 1 as const, width: 8, height: 8 };

  it('decodes PNG, JPEG, WebP and GIF, composites alpha on white and resizes', async () => {
    const transparent = sharp({ create: { width: 40, height: 20, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } });
    for (const format of ['png', 'webp', 'gif'] as const) {
      const px = await loadImageForModel(await transparent.clone().toFormat(format).toBuffer(), target);
      expect([px.width, px.height, px.channels]).toEqual([8, 8, 1]);
      expect(Math.min(...px.data)).toBeGreaterThanOrEqual(250); // transparent became white
    }
    const jpeg = await sharp({ create: { width: 30, height: 30, channels: 3, background: '#000000' } }).jpeg().toBuffer();
    const rgb = await loadImageForModel(jpeg, { channels: 3, width: 4, height: 4 });
    expect(rgb.data.length).toBe(48);
    expect(Math.max(...rgb.data)).toBeLessThan(5);
  });

  it('rejects a non-image, an image over 4096x4096, a file over 10 MB and a decompression bomb', async () => {
    await expect(loadImageForModel(Buffer.from('hello, not an image'), target)).rejects.toThrow(/not an image/);
    const huge = await sharp({ create: { width: 4097, height: 8, channels: 3, background: '#fff' } }).png().toBuffer();
    await expect(loadImageForModel(huge, target)).rejects.toThrow(/4097x8; the limit is 4096x4096/);
    await expect(loadImageForModel(new Uint8Array(10 * 1024 * 1024 + 1), target)).rejects.toThrow(/limit is 10 MB/);
    // A 16000x16000 PNG of one colour is ~1 MB compressed but 768 MB decoded.
    const bomb = await sharp({ create: { width: 16000, height: 16000, channels: 3, background: '#fff' } }).png({ compressionLevel: 9 }).toBuffer();
    expect(bomb.byteLength).toBeLessThan(10 * 1024 * 1024);
    await expect(loadImageForModel(bomb, target)).rejects.toBeInstanceOf(ImageInputError);
  });
});
