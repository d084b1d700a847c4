/**
 * GPU check: which execution providers load on this host, how far each one's images are from the CPU
 * provider's for the same seeds, and how long DDIM-50 and DDPM-1000 take at batch 1 and 16. Writes a
 * Markdown report to stdout and bench-results/gpu-check.md, ready to paste into docs/gpu.md.
 * Run it through scripts/gpu-check.sh, which sets up the Vulkan environment first (it must be set
 * before this process starts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { Engine } from '../src/engine/index.ts';
import type { ExecutionProvider } from '../src/model/session.ts';
import { toPixels } from '../src/render/index.ts';

const PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'cuda', 'webgpu'];
const MODELS = ['mnist', 'emoji'];
/** Emulated adapters (SwiftShader) are proof of the code path, not a speed: one seed and the short timing only. */
const emulated = /swiftshader/i.test(`${process.env['VK_ICD_FILENAMES'] ?? ''}${process.env['VK_DRIVER_FILES'] ?? ''}`);
const SEEDS = emulated ? [1] : [1, 2, 3, 4];
const IMAGES = emulated ? 1 : 4;
const TIMINGS: readonly { sampler: string; steps: number; count: number; slow: boolean }[] = [
  { sampler: 'ddim', steps: 50, count: 1, slow: false },
  { sampler: 'ddim', steps: 50, count: 16, slow: true },
  { sampler: 'ddpm', steps: 1000, count: 1, slow: true },
  { sampler: 'ddpm', steps: 1000, count: 16, slow: true },
];

const lines: string[] = [];
const say = (line = '') => {
  lines.push(line);
  process.stdout.write(`${line}\n`);
};

/** Every image of a batch as 8-bit pixels, concatenated (the same rounding the PNGs get). */
async function pixels(engine: Engine, model: string, seed: number): Promise<Uint8Array> {
  const result = await engine.generate(engine.validate({ model, sampler: 'ddim', steps: 10, seed, count: IMAGES }));
  return Uint8Array.from(Array.from({ length: IMAGES }, (_, i) => [...toPixels(result.images, i).data]).flat());
}

async function main(): Promise<void> {
  say(`# GPU check, ${new Date().toISOString().slice(0, 10)}`);
  say();
  say(`Host: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}; Vulkan driver files: ${process.env['VK_ICD_FILENAMES'] ?? 'system default'}${emulated ? ' (SwiftShader: Vulkan emulated on the CPU)' : ''}`);
  say();
  const engines = new Map<ExecutionProvider, Engine>();
  say('| provider asked | runs on | why others were passed over |');
  say('|---|---|---|');
  for (const provider of PROVIDERS) {
    const engine = await Engine.load({ executionProvider: provider });
    const session = await engine.denoiser(MODELS[0]!);
    say(`| ${provider} | ${session.provider} | ${session.passedOver.join('; ') || '—'} |`);
    if (session.provider === provider) engines.set(provider, engine);
    else await engine.close();
  }
  say();
  const cpu = engines.get('cpu')!;
  say(`Pixel difference from the CPU provider, DDIM-10, seed${SEEDS.length > 1 ? `s 1–${SEEDS.length}` : ' 1'}, ${IMAGES} image${IMAGES > 1 ? 's' : ''} each (8-bit levels):`);
  say();
  say('| provider | model | max | mean | pixels that differ |');
  say('|---|---|---:|---:|---:|');
  for (const [provider, engine] of engines) {
    if (provider === 'cpu') continue;
    for (const model of MODELS) {
      let max = 0;
      let sum = 0;
      let differ = 0;
      let total = 0;
      for (const seed of SEEDS) {
        const [a, b] = await Promise.all([pixels(cpu, model, seed), pixels(engine, model, seed)]);
        for (let i = 0; i < a.length; i++) {
          const d = Math.abs(a[i]! - b[i]!);
          max = Math.max(max, d);
          sum += d;
          if (d > 0) differ++;
        }
        total += a.length;
      }
      say(`| ${provider} | ${model} | ${max} | ${(sum / total).toFixed(4)} | ${differ} of ${total} |`);
    }
  }
  say();
  say('Sampling time (the denoising loop, session already open; one run each, after one warm-up DDIM-10):');
  say();
  say('| provider | model | sampler | steps | batch | s | images/s |');
  say('|---|---|---|---:|---:|---:|---:|');
  for (const [provider, engine] of engines) {
    for (const model of MODELS) {
      await engine.generate(engine.validate({ model, sampler: 'ddim', steps: 10, seed: 0 }));
      for (const t of TIMINGS) {
        if (t.slow && emulated && provider === 'webgpu') continue;
        const result = await engine.generate(engine.validate({ model, sampler: t.sampler, steps: t.steps, seed: 7, count: t.count }));
        const s = result.samplingMs / 1000;
        say(`| ${provider} | ${model} | ${t.sampler} | ${t.steps} | ${t.count} | ${s.toFixed(3)} | ${(t.count / s).toFixed(2)} |`);
      }
    }
  }
  if (emulated) say('\nWebGPU ran on SwiftShader (the CPU), so only its DDIM-50 batch-1 timing was taken: it shows the code path works, not GPU speed.');
  for (const engine of engines.values()) await engine.close();
  await mkdir('bench-results', { recursive: true });
  await writeFile('bench-results/gpu-check.md', `${lines.join('\n')}\n`);
  process.stderr.write('wrote bench-results/gpu-check.md\n');
}

await main();
