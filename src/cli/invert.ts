/**
 * `ddpm-bot invert <image>`: DDIM inversion (DDIM paper section 5.4) run here with the engine: the image to
 * its x_T by the sampler's inverse, decoded back, the reconstruction's PSNR printed. Several --steps values
 * print one line each, the table of docs/inversion.md; the same image and options always print the same.
 */
import { Command, Option } from 'commander';
import { concatBatch } from '../core/tensor.ts';
import { DEFAULT_SAMPLER } from '../engine/index.ts';
import { MAX_GUIDANCE } from '../engine/conditioning.ts';
import { batchPng } from '../render/index.ts';
import { UsageError, decimal, modelsDirOption, openEngine, resolveModel, scaleOption } from './common.ts';
import { readImageFile } from './image-file.ts';
import { writeOutput } from './output.ts';
import { progressBar } from './progress.ts';

interface InvertOptions {
  model?: string;
  modelsDir?: string;
  sampler: string;
  steps?: string;
  label?: string;
  guidance?: number;
  out?: string;
  scale: number;
}

/** "10,20,50" -> [10, 20, 50]: each a positive integer. */
function stepList(value: string): number[] {
  const steps = value.split(',').map((s) => Number(s.trim()));
  const bad = steps.find((n) => !Number.isInteger(n) || n < 1);
  if (bad !== undefined) throw new UsageError(`--steps ${value}: give positive integers separated by commas`);
  return steps;
}

async function invertCommand(file: string, opts: InvertOptions): Promise<void> {
  const upload = await readImageFile(file, '<image>');
  const engine = await openEngine(opts.modelsDir);
  try {
    const model = await resolveModel(engine, opts.model);
    const runs = opts.steps === undefined ? [undefined] : stepList(opts.steps);
    if (opts.out && runs.length > 1) throw new UsageError('--out writes one reconstruction: give one --steps value with it');
    for (const steps of runs) {
      const raw = Object.fromEntries(Object.entries({ model, sampler: opts.sampler, steps, label: opts.label, guidance: opts.guidance }).filter(([, v]) => v !== undefined));
      const params = engine.validateInversion(raw);
      const source = await engine.sourceImage(params.model, upload);
      const began = performance.now();
      const result = await engine.invert(params, source, progressBar(`invert ${params.sampler} ${params.steps} steps`));
      const seconds = ((performance.now() - began) / 1000).toFixed(1);
      process.stdout.write(`steps ${params.steps}: PSNR ${result.psnr.toFixed(2)} dB (${seconds} s)\n`);
      if (opts.out) await writeOutput(opts.out, await batchPng(concatBatch([source, result.reconstruction])), opts.scale, `${file} and its reconstruction, ${params.model}, ${params.sampler}, ${params.steps} steps`);
    }
  } finally {
    await engine.close();
  }
}

export function addInvertCommand(program: Command): void {
  program
    .command('invert <image>')
    .description("DDIM inversion: the image to its x_T and back; prints the reconstruction's PSNR against the image")
    .option('-m, --model <name|dir>', 'installed model name or a model folder (default: the default model)')
    .addOption(new Option('-s, --sampler <name>', 'a sampler that can invert').default(DEFAULT_SAMPLER))
    .option('-n, --steps <n[,n...]>', "inference steps; several (10,20,50) print one line each (default: the sampler's)")
    .option('--label <name|index>', 'class-conditional models: the class the image is inverted under')
    .option('--guidance <s>', `classifier-free guidance scale 0..${MAX_GUIDANCE} with a label (default: the model's)`, decimal('--guidance'))
    .option('-o, --out <file.png>', 'write the image beside its reconstruction')
    .addOption(scaleOption())
    .addOption(modelsDirOption())
    .action(invertCommand);
}
