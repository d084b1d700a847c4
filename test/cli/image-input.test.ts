/**
 * `noise-demo --image` with files that are not usable images: each is one line on stderr and exit
 * code 2, and the file's size is checked before it is read (a 200 MB file costs no memory).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ddpm-cli-image-'));
  // Records the child's peak resident memory (KB) as it exits.
  await writeFile(path.join(dir, 'rss.cjs'), "process.on('exit', () => require('fs').writeFileSync(process.env.RSS_OUT, String(process.resourceUsage().maxRSS)));\n");
});

async function noiseDemo(image: string): Promise<{ code: number; stderr: string; rssMb: number }> {
  const rssOut = path.join(dir, `rss-${path.basename(image)}`);
  const args = ['--require', path.join(dir, 'rss.cjs'), 'bin/ddpm-bot.js', 'noise-demo', '--models-dir', 'test/fixtures', '--image', image, '--out', path.join(dir, 'out.png')];
  const run = await promisify(execFile)(process.execPath, args, { cwd: root, env: { ...process.env, RSS_OUT: rssOut } }).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
  );
  return { ...run, rssMb: Number(await readFile(rssOut, 'utf8')) / 1024 };
}

describe('noise-demo --image', () => {
  it('refuses an empty file in one line with exit code 2', async () => {
    const file = path.join(dir, 'empty.png');
    await writeFile(file, '');
    const run = await noiseDemo(file);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([`error: --image ${file}: the file is empty (0 bytes)`]);
  });

  it('refuses a 200 MB file by its size, without reading it', async () => {
    const file = path.join(dir, 'huge.png');
    await writeFile(file, '');
    await truncate(file, 200 * 1024 * 1024); // sparse: no disk used
    const run = await noiseDemo(file);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([`error: --image ${file}: the image is 200.0 MB; the limit is 10 MB`]);
    expect(run.rssMb).toBeLessThan(180);
  });
});
