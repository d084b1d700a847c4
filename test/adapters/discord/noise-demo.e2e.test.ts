/**
 * /noise-demo end to end, with an uploaded attachment, and every way an attachment can be refused:
 * each answered privately, with nothing queued.
 */
import { deflateSync, crc32 } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeInteraction, FakeUser } from '../../fakes/discord/server.ts';
import { Harness, embedField, embedTitle } from './support/harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await Harness.start({ label: 'noise', tuning: { download: { timeoutMs: 500, maxBytes: 10 * 1024 * 1024 } } });
});

afterAll(async () => {
  await h?.close();
});

async function gradientPng(width: number, height: number): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * 255) / (width - 1);
      data[i + 1] = (y * 255) / (height - 1);
      data[i + 2] = 128;
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

function pngChunk(type: string, body: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.byteLength);
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/** A few hundred bytes claiming 60000x60000 pixels: decoding it would need gigabytes. */
function decompressionBomb(): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(60_000, 0);
  header.writeUInt32BE(60_000, 4);
  header.set([8, 0, 0, 0, 0], 8); // 8-bit grayscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.alloc(60_001 * 4))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

async function expectRefused(user: FakeUser, interaction: FakeInteraction, pattern: RegExp, deferred: boolean): Promise<void> {
  const text = await h.ephemeralError(interaction);
  expect(text).toMatch(pattern);
  expect(interaction.callbacks[0]!.type).toBe(deferred ? 5 : 4);
  // After a public deferral the "thinking…" message is removed: nothing public remains.
  if (deferred) await h.fake.waitFor(() => interaction.response?.deleted, 5_000, 'thinking message removed');
  const requests = await h.runtime.service.listRecentRequests({ platform: 'discord', workspaceId: h.fake.guildId, userId: user.id });
  expect(requests).toHaveLength(0);
}

describe('/noise-demo', () => {
  it('turns an uploaded image into a labelled grid of forward-process frames and a GIF', async () => {
    const nora = h.fake.user('nora');
    const png = await gradientPng(32, 32);
    const image = h.fake.upload('gradient.png', png, 'image/png', { width: 32, height: 32 });
    const interaction = h.fake.command(nora, 'noise-demo', { image, model: 'tiny', seed: 9, timesteps: '0, 100,500,999' });
    const result = await h.result(interaction);
    expect(interaction.callbacks[0]!.type).toBe(5);
    expect(embedTitle(result)).toMatch(/^🌫️ Forward process/u);
    expect(embedField(result, 'Timesteps')).toBe('0, 100, 500, 999');
    expect(embedField(result, 'Seed (noise)')).toBe('`9`');
    const grid = result.files.find((f) => f.filename === 'noise-grid.png')!;
    const gif = result.files.find((f) => f.filename === 'noise.gif')!;
    const expected = await h.engine.noiseDemo({ model: 'tiny', image: png, seed: 9, timesteps: [0, 100, 500, 999] });
    expect(Buffer.compare(grid.bytes, expected.gridPng)).toBe(0);
    expect((await sharp(gif.bytes, { pages: -1 }).metadata()).pages).toBe(4);
  });

  it('without an image uses one the model generates, and accepts denoise_from', async () => {
    const omar = h.fake.user('omar');
    const result = await h.result(h.fake.command(omar, 'noise-demo', { model: 'tiny', seed: 3, denoise_from: 400 }));
    expect(embedField(result, 'Reconstruction')).toBe('reverse process from t=400');
    const expected = await h.engine.noiseDemo({ model: 'tiny', seed: 3, denoiseFrom: 400 });
    expect(Buffer.compare(result.files[0]!.bytes, expected.gridPng)).toBe(0);
    const reconstruction = result.files.find((f) => f.filename === 'reconstruction.png');
    expect(reconstruction, 'the reverse process from x_t is attached').toBeDefined();
    expect(Buffer.compare(reconstruction!.bytes, expected.reconstructionPng!)).toBe(0);
  });

  describe('refuses, privately and before queueing', () => {
    it('an attachment that is not an image (by its content type, at once)', async () => {
      const user = h.fake.user('p1');
      const file = h.fake.upload('notes.txt', Buffer.from('hello'), 'text/plain');
      await expectRefused(user, h.fake.command(user, 'noise-demo', { image: file }), /not an image/, false);
    });

    it('bytes that are not an image although labelled as one (after download)', async () => {
      const user = h.fake.user('p2');
      const file = h.fake.upload('fake.png', Buffer.from('definitely not a png'), 'image/png');
      await expectRefused(user, h.fake.command(user, 'noise-demo', { image: file }), /not an image/, true);
    });

    it('over 10 MB as Discord reports it (at once)', async () => {
      const user = h.fake.user('p3');
      const file = h.fake.upload('big.png', Buffer.from('x'), 'image/png', { size: 11 * 1024 * 1024 });
      await expectRefused(user, h.fake.command(user, 'noise-demo', { image: file }), /11\.0 MB; the limit is 10\.0 MB/, false);
    });

    it('over 10 MB when more bytes arrive than Discord reported (bounded download)', async () => {
      const user = h.fake.user('p4');
      const file = h.fake.upload('sneaky.png', Buffer.alloc(10 * 1024 * 1024 + 1), 'image/png', { size: 1000 });
      await expectRefused(user, h.fake.command(user, 'noise-demo', { image: file }), /limit is 10\.0 MB/, true);
    });

    it('over 4096x4096 as Discord reports it (at once)', async () => {
      const user = h.fake.user('p5');
      const file = h.fake.upload('huge.png', Buffer.from('x'), 'image/png', { width: 5000, height: 3000 });
      await expectRefused(user, h.fake.command(user, 'noise-demo', { image: file }), /5000x3000; the limit is 4096x4096/, false);
    });

    it('a decompression bomb (tiny file, 60000x60000 header), before decoding it', async () => {
      const user = h.fake.user('p6');
      const bomb = decompressionBomb();
      expect(bomb.byteLength).toBeLessThan(10_000);
      const file = h.fake.upload('bomb.png', bomb, 'image/png');
      await expectRefused(user, h.fake.command(user, 'noise-demo', { image: file }), /60000x60000 \(3600 megapixels\); the limit is 4096x4096/, true);
    });

    it('an attachment URL that is not on Discord’s CDN', async () => {
      const user = h.fake.user('p7');
      const file = h.fake.upload('x.png', Buffer.from('x'), 'image/png', { url: 'https://images.example.com/x.png' });
      await expectRefused(user, h.fake.command(user, 'noise-demo', { image: file }), /not hosted on Discord/, true);
    });

    it('a download that fails', async () => {
      const user = h.fake.user('p8');
      const file = h.fake.upload('gone.png', Buffer.from('x'), 'image/png', { status: 404 });
      await expectRefused(user, h.fake.command(user, 'noise-demo', { image: file }), /could not be downloaded \(HTTP 404\)/, true);
    });

    it('a download that takes too long', async () => {
      const user = h.fake.user('p9');
      const png = await gradientPng(8, 8);
      const file = h.fake.upload('slow.png', png, 'image/png', { delayMs: 3_000 });
      await expectRefused(user, h.fake.command(user, 'noise-demo', { image: file }), /could not be downloaded within/, true);
    });

    it('timesteps that are not a list of timesteps of the model', async () => {
      const user = h.fake.user('p10');
      await expectRefused(user, h.fake.command(user, 'noise-demo', { timesteps: '0,abc' }), /`timesteps`: timesteps must be whole numbers/, false);
      await expectRefused(user, h.fake.command(user, 'noise-demo', { timesteps: '0,1000' }), /0\.\.999.*got 1000/, false);
    });
  });
});
