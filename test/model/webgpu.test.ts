/**
 * The GPU code path without a GPU: onnxruntime-node's WebGPU provider (Dawn on Vulkan) runs on
 * SwiftShader, the Vulkan implementation on the CPU that Debian's chromium ships, exactly as it runs
 * on a GPU host's driver. The CLI runs in child processes because the Vulkan loader reads
 * VK_ICD_FILENAMES and LD_LIBRARY_PATH when the process starts.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/ddpm-bot.js');
const tiny = path.join(root, 'test/fixtures/tiny');
/** Debian's chromium package; `dpkg -L chromium | grep swiftshader` lists it. */
const ICD = process.env['SWIFTSHADER_ICD'] ?? '/usr/lib/chromium/vk_swiftshader_icd.json';
const icdPresent = existsSync(ICD);
/** Hosts without the libvulkan1 package use the Vulkan loader chromium ships next to SwiftShader. */
const systemLoader = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib'].some((d) => existsSync(path.join(d, 'libvulkan.so.1')));
const loaderDir = systemLoader ? undefined : path.dirname(ICD);

if (!icdPresent) process.stderr.write(`webgpu.test.ts: skipped: no SwiftShader Vulkan driver at ${ICD} (apt install chromium, or set SWIFTSHADER_ICD)\n`);

async function generate(out: string, env: Record<string, string>): Promise<{ stderr: string }> {
  const args = ['generate', '--model', tiny, '--sampler', 'ddim', '--steps', '10', '--count', '4', '--seed', '11', '--out', out];
  const { stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, DDPM_VERBOSE: '1', ...env } });
  return { stderr };
}

function withLoader(env: Record<string, string>): Record<string, string> {
  return loaderDir ? { ...env, LD_LIBRARY_PATH: [loaderDir, process.env['LD_LIBRARY_PATH']].filter(Boolean).join(':') } : env;
}

describe.skipIf(!icdPresent)(`WebGPU on SwiftShader (${ICD})`, () => {
  it('runs the tiny model through the WebGPU provider within 1 gray level of the CPU provider', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ddpm-webgpu-'));
    const [cpuPng, gpuPng] = [path.join(dir, 'cpu.png'), path.join(dir, 'webgpu.png')];
    const cpu = await generate(cpuPng, { DDPM_EXECUTION_PROVIDER: 'cpu' });
    const gpu = await generate(gpuPng, withLoader({ DDPM_EXECUTION_PROVIDER: 'webgpu', VK_ICD_FILENAMES: ICD }));
    expect(cpu.stderr).toContain('model session ready on cpu');
    // Without this the comparison could pass by falling back to the CPU provider.
    expect(gpu.stderr).toContain('model session ready on webgpu');
    expect(gpu.stderr).toMatch(/, \d+\.\d+ s on webgpu\)/);
    const [a, b] = await Promise.all([sharp(cpuPng).raw().toBuffer(), sharp(gpuPng).raw().toBuffer()]);
    expect(b.length).toBe(a.length);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
    expect(max).toBeLessThanOrEqual(1);
  });

  it('with a Vulkan loader but no usable driver, picks the CPU quietly and says why in one line', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ddpm-webgpu-'));
    const env = withLoader({ VK_ICD_FILENAMES: path.join(dir, 'no-such-driver.json') });
    const quiet = await promisify(execFile)(process.execPath, [bin, 'generate', '--model', tiny, '--steps', '2', '--seed', '1', '--out', path.join(dir, 'a.png')], {
      cwd: root,
      env: { ...process.env, ...env, DDPM_VERBOSE: '' },
    });
    // Dawn's Vulkan errors stay in the probe's child process: only the result line reaches the terminal.
    expect(quiet.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^wrote .*a\.png \(8x8 px, tiny, ddim \(eta 0\), 2 steps, 1 image, [\d.]+ s on cpu\)$/)]);
    const verbose = await generate(path.join(dir, 'b.png'), env);
    expect(verbose.stderr).toMatch(/model session ready on cpu .*webgpu: no usable adapter/);
  });
});
