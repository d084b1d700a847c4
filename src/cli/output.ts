/** Writes one output file of the CLI and says so: every file a command writes is reported, with its size. */
import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { scaleImage } from '../render/index.ts';

/** Enlarges `image` (PNG or GIF) `scale` times, writes it, and prints "wrote FILE (W×H px, what)" on stderr. */
export async function writeOutput(file: string, image: Buffer, scale: number, what: string): Promise<void> {
  const scaled = await scaleImage(image, scale);
  await writeFile(file, scaled);
  // Animated GIFs stack their frames vertically; pageHeight is one frame's height.
  const meta = await sharp(scaled, { animated: true }).metadata();
  const frames = meta.pages && meta.pages > 1 ? `, ${meta.pages} frames` : '';
  process.stderr.write(`wrote ${file} (${meta.width}x${meta.pageHeight ?? meta.height} px${frames}, ${what})\n`);
}
