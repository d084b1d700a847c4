/**
 * Hostile uploads for the noise demo: a decompression bomb (a small PNG that declares 20000x20000),
 * truncated and corrupted files, SVG, zero bytes, a file over the 10 MB limit, random bytes behind a
 * PNG signature, and one good image so the accepting path is exercised too.
 */
import { crc32 } from 'node:zlib';
import sharp from 'sharp';

/** A valid PNG whose header claims width x height: decoders must refuse it by its size, before allocating. */
function claimingSize(png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

export interface HostileImage {
  readonly name: string;
  readonly type: string;
  readonly bytes: Buffer;
}

export async function hostileImages(): Promise<HostileImage[]> {
  const good = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#808080' } }).png().toBuffer();
  const bomb = claimingSize(good, 20000, 20000);
  const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#336699' } }).jpeg().toBuffer();
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="99999" height="99999"><rect width="100%" height="100%"/></svg>');
  const flipped = Buffer.from(good);
  flipped.writeUInt8(flipped.readUInt8(good.length >> 1) ^ 0xff, good.length >> 1);
  return [
    { name: 'good.png', type: 'image/png', bytes: good },
    { name: 'bomb.png', type: 'image/png', bytes: bomb },
    { name: 'truncated.png', type: 'image/png', bytes: good.subarray(0, good.length >> 1) },
    { name: 'truncated.jpg', type: 'image/jpeg', bytes: jpeg.subarray(0, jpeg.length - 40) },
    { name: 'corrupt.png', type: 'image/png', bytes: flipped },
    { name: 'image.svg', type: 'image/svg+xml', bytes: svg },
    { name: 'empty.png', type: 'image/png', bytes: Buffer.alloc(0) },
    { name: 'oversize.png', type: 'image/png', bytes: Buffer.concat([good, Buffer.alloc(10 * 1024 * 1024 + 1)]) },
    { name: 'noise.png', type: 'image/png', bytes: Buffer.concat([good.subarray(0, 8), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff))]) },
  ];
}
