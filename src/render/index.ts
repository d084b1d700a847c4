/**
 * Model tensors to pictures: PNG of one image, a labelled grid for a batch, nearest-neighbour
 * upscaling for chat display, and GIF/WebP animations from frames.
 */
import sharp from 'sharp';
import type { Tensor } from '../core/tensor.ts';

/** Raw interleaved 8-bit pixels of one image. */
export interface Pixels {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
}

/** numpy's round(): half to even, which diffusers' numpy_to_pil uses. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Image `index` of a [N, C, H, W] batch in model space to 8-bit HWC pixels, exactly as diffusers'
 * pipelines do: (x / 2 + 0.5).clamp(0, 1) in float32, then (v * 255).round().
 */
export function toPixels(images: Tensor, index = 0): Pixels {
  const [n, c, h, w] = images.shape as [number, number, number, number];
  if (index < 0 || index >= n) throw new RangeError(`image index ${index} outside batch of ${n}`);
  if (c !== 1 && c !== 3) throw new Error(`cannot render ${c} channels (1 or 3 supported)`);
  const plane = h * w;
  const base = index * c * plane;
  const out = new Uint8Array(plane * c);
  for (let ch = 0; ch < c; ch++) {
    for (let p = 0; p < plane; p++) {
      const v = Math.fround(Math.fround(images.data[base + ch * plane + p]! / 2) + 0.5);
      const clamped = v < 0 ? 0 : v > 1 ? 1 : v;
      out[p * c + ch] = roundHalfEven(Math.fround(clamped * 255));
    }
  }
  return { data: out, width: w, height: h, channels: c };
}

/** Pixels of an image in [0, 255] back to model space [-1, 1] as one [1, C, H, W] tensor. */
export function fromPixels(pixels: Pixels): Tensor {
  const { width: w, height: h, channels: c } = pixels;
  const data = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let p = 0; p < h * w; p++) data[ch * h * w + p] = pixels.data[p * c + ch]! / 127.5 - 1;
  }
  return { data, shape: [1, c, h, w] };
}

function sharpFromPixels(p: Pixels): sharp.Sharp {
  const image = sharp(Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength), {
    raw: { width: p.width, height: p.height, channels: p.channels },
  });
  // Keep one-channel images grayscale in the file (as PIL's mode "L"), not expanded to sRGB.
  return p.channels === 1 ? image.toColourspace('b-w') : image;
}

export async function pixelsToPng(p: Pixels): Promise<Buffer> {
  return sharpFromPixels(p).png({ compressionLevel: 9 }).toBuffer();
}

/** PNG of one image of the batch, at the model's native size. */
export async function imagePng(images: Tensor, index = 0): Promise<Buffer> {
  return pixelsToPng(toPixels(images, index));
}

export interface GridOptions {
  /** One caption per cell (e.g. "t=500"); drawn under each image. */
  readonly labels?: readonly string[];
  readonly columns?: number;
  /** Each cell is scaled up by this integer factor (nearest neighbour) before labelling. */
  readonly scale?: number;
}

const PAD = 4;
const LABEL_HEIGHT = 16;

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Cells side by side on white, with optional captions; all cells must share one size. */
export async function gridPng(cells: readonly Pixels[], options: GridOptions = {}): Promise<Buffer> {
  if (cells.length === 0) throw new Error('a grid needs at least one image');
  const scale = options.scale ?? 1;
  const first = cells[0]!;
  const cellW = first.width * scale;
  const cellH = first.height * scale;
  const columns = Math.min(options.columns ?? Math.ceil(Math.sqrt(cells.length)), cells.length);
  const rows = Math.ceil(cells.length / columns);
  const labelH = options.labels ? LABEL_HEIGHT : 0;
  const width = PAD + columns * (cellW + PAD);
  const height = PAD + rows * (cellH + labelH + PAD);
  const layers: sharp.OverlayOptions[] = [];
  for (const [i, cell] of cells.entries()) {
    if (cell.width !== first.width || cell.height !== first.height) throw new Error('grid cells must share one size');
    const left = PAD + (i % columns) * (cellW + PAD);
    const top = PAD + Math.floor(i / columns) * (cellH + labelH + PAD);
    const scaled = await sharpFromPixels(cell).resize(cellW, cellH, { kernel: 'nearest' }).png().toBuffer();
    layers.push({ input: scaled, left, top });
    const label = options.labels?.[i];
    if (label) {
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${cellW}" height="${LABEL_HEIGHT}"><text x="${cellW / 2}" y="12" text-anchor="middle" font-family="DejaVu Sans, sans-serif" font-size="11" fill="#222">${escapeXml(label)}</text></svg>`;
      layers.push({ input: Buffer.from(svg), left, top: top + cellH });
    }
  }
  return sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(layers)
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/** The whole batch: one image as its own PNG, several as a grid labelled #1..#N. */
export async function batchPng(images: Tensor): Promise<Buffer> {
  const n = images.shape[0]!;
  if (n === 1) return imagePng(images, 0);
  const cells = Array.from({ length: n }, (_, i) => toPixels(images, i));
  return gridPng(cells, { labels: cells.map((_, i) => `#${i + 1}`) });
}

/** Chat clients blur tiny images: what they display is enlarged (nearest neighbour) to at least this side. */
export const DISPLAY_MIN_SIDE = 256;

/** Integer nearest-neighbour upscale so the short side is at least `minSide` (chat clients blur small images). */
export async function upscalePng(png: Buffer, minSide = DISPLAY_MIN_SIDE): Promise<Buffer> {
  const meta = await sharp(png).metadata();
  const side = Math.min(meta.width ?? minSide, meta.height ?? minSide);
  return scaleImage(png, Math.max(1, Math.ceil(minSide / side)));
}

/**
 * A PNG or (animated) GIF enlarged `factor` times with nearest neighbour, so every model pixel stays a
 * sharp square; the GIF keeps its frames, delays and loop.
 */
export async function scaleImage(image: Buffer, factor: number): Promise<Buffer> {
  if (factor === 1) return image;
  const meta = await sharp(image, { animated: true }).metadata();
  const resized = sharp(image, { animated: true }).resize({ width: (meta.width ?? 0) * factor, kernel: 'nearest' });
  if (meta.format !== 'gif') return resized.png().toBuffer();
  return resized.gif({ ...(meta.delay ? { delay: meta.delay } : {}), loop: meta.loop ?? 0 }).toBuffer();
}

export type AnimationFormat = 'gif' | 'webp';

export interface AnimationOptions {
  readonly format?: AnimationFormat;
  /** Per-frame delay; the last frame is held 4x longer so the result can be seen. */
  readonly delayMs?: number;
  readonly scale?: number;
  readonly labels?: readonly string[];
}

/** An animation from frames of one size (e.g. predicted x_0 over the steps, or forward-process frames). */
export async function animation(frames: readonly Pixels[], options: AnimationOptions = {}): Promise<Buffer> {
  if (frames.length === 0) throw new Error('an animation needs at least one frame');
  const scale = options.scale ?? 1;
  const delay = options.delayMs ?? 120;
  const pngs = await Promise.all(
    frames.map((f, i) =>
      options.labels ? gridPng([f], { scale, labels: [options.labels[i] ?? ''] }) : scaledPng(f, scale),
    ),
  );
  const delays = frames.map((_, i) => (i === frames.length - 1 ? delay * 4 : delay));
  const joined = sharp(pngs, { join: { animated: true } });
  return options.format === 'webp'
    ? joined.webp({ delay: delays, loop: 0, lossless: true }).toBuffer()
    : joined.gif({ delay: delays, loop: 0 }).toBuffer();
}

async function scaledPng(frame: Pixels, scale: number): Promise<Buffer> {
  return sharpFromPixels(frame)
    .resize(frame.width * scale, frame.height * scale, { kernel: 'nearest' })
    .png()
    .toBuffer();
}

/** Cells tiled into one picture with a 1-pixel white gutter (animation frames of a whole batch). */
export function tilePixels(cells: readonly Pixels[], columns = Math.ceil(Math.sqrt(cells.length))): Pixels {
  const first = cells[0];
  if (!first) throw new Error('nothing to tile');
  const { width: w, height: h, channels: c } = first;
  const cols = Math.min(columns, cells.length);
  const rows = Math.ceil(cells.length / cols);
  const width = cols * w + (cols - 1);
  const height = rows * h + (rows - 1);
  const data = new Uint8Array(width * height * c).fill(255);
  cells.forEach((cell, i) => {
    const x0 = (i % cols) * (w + 1);
    const y0 = Math.floor(i / cols) * (h + 1);
    for (let y = 0; y < h; y++) {
      data.set(cell.data.subarray(y * w * c, (y + 1) * w * c), ((y0 + y) * width + x0) * c);
    }
  });
  return { data, width, height, channels: c };
}

/** All images of a batch as one tiled picture. */
export function batchPixels(images: Tensor): Pixels {
  return tilePixels(Array.from({ length: images.shape[0]! }, (_, i) => toPixels(images, i)));
}

/** PNG to RGB pixels at an optional size (frames of one animation must share size and channels). */
async function pngToRgb(png: Buffer, width?: number, height?: number): Promise<Pixels> {
  let image = sharp(png).removeAlpha().toColourspace('srgb');
  if (width && height) image = image.resize(width, height, { kernel: 'nearest', fit: 'fill' });
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
}

/** Frames in one denoising animation (the final image is always the last). */
export const MAX_TRAJECTORY_FRAMES = 60;

/**
 * The denoising animation chat adapters send: predicted-x_0 preview PNGs (evenly thinned) followed by
 * the final image, all at the final image's size and enlarged for display.
 */
export async function trajectoryGif(previews: readonly Buffer[], finalPng: Buffer): Promise<Buffer> {
  const final = await pngToRgb(finalPng);
  const frames = await Promise.all(
    evenlySpaced(previews, MAX_TRAJECTORY_FRAMES - 1).map((p) => pngToRgb(p, final.width, final.height)),
  );
  const all = [...frames, final];
  const scale = Math.max(1, Math.ceil(DISPLAY_MIN_SIDE / Math.min(final.width, final.height)));
  return animation(all, { scale, delayMs: 100 });
}

/** Frames of an animated GIF (1 for a still image). */
export async function gifFrameCount(gif: Buffer): Promise<number> {
  return (await sharp(gif, { pages: -1 }).metadata()).pages ?? 1;
}

/** Evenly spaced picks of at most `max` items, always keeping the last (the final image). */
export function evenlySpaced<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  return Array.from({ length: max }, (_, i) => items[Math.round((i * (items.length - 1)) / (max - 1))]!);
}

