/**
 * `ddpm-bot vary`: SDEdit variations of a PNG, or of an image of a request the running service stored, run
 * with the engine here; the same options and seed always write the same bytes.
 */
import type { Command } from 'commander';
import { MAX_SEED } from '../core/rng.ts';
import { MAX_COUNT } from '../engine/index.ts';
import { DEFAULT_STRENGTH, MAX_STRENGTH, MIN_STRENGTH } from '../engine/edit-params.ts';
import { batchPng } from '../render/index.ts';
import { decimal, integer, openEngine, resolveModel } from './common.ts';
import { progressBar } from './progress.ts';
import { writeOutput } from './output.ts';
import { definedOnly, samplingOptions, type SamplingOptions } from './sampling-options.ts';
import { imageSource } from './stored-request.ts';

async function varyCommand(opts: SamplingOptions & { from: string; index: number; strength?: number; count: number; seed?: number; out: string; service: string }): Promise<void> {
  // A request's model, sampler, steps, options, label and guidance are the defaults; options given here win.
  const source = await imageSource('--from', opts.from, opts.index, opts.service);
  const engine = await openEngine(opts.modelsDir);
  try {
    const given = {
      model: await resolveModel(engine, opts.model),
      sampler: opts.sampler,
      steps: opts.steps,
      label: opts.label,
      guidance: opts.guidance,
    };
    const sampler = given.sampler !== undefined && given.sampler !== source.params.sampler ? { options: undefined, steps: undefined } : {};
    const raw = { ...source.params, ...sampler, ...definedOnly(given), seed: opts.seed, count: opts.count, strength: opts.strength ?? DEFAULT_STRENGTH };
    const params = engine.validateVariation(definedOnly(raw));
    const image = await engine.sourceImage(params.model, source.image);
    const result = await engine.vary(params, image, progressBar(`vary ${params.sampler} strength ${params.strength}`));
    process.stdout.write(`seed ${params.seed}\n`);
    const what = `${params.count} variation${params.count > 1 ? 's' : ''} of ${opts.from} at strength ${params.strength}, ${params.model}, ${params.sampler}, ${params.steps} steps`;
    await writeOutput(opts.out, await batchPng(result.images), opts.scale, what);
  } finally {
    await engine.close();
  }
}

export function addVaryCommand(program: Command): void {
  samplingOptions(
    program
      .command('vary')
      .description('variations of an image (SDEdit): noised to --strength of the schedule, then denoised; prints the seed of the noise')
      .requiredOption('--from <file|request id>', 'an image file, or the id of a request the running service stored (--service)')
      .option('--index <k>', 'with a request id: which of its images (default 0)', integer('--index', 0, MAX_COUNT - 1), 0)
      .option('--strength <f>', `how much of the schedule to redo, ${MIN_STRENGTH}..${MAX_STRENGTH} (default ${DEFAULT_STRENGTH})`, decimal('--strength'))
      .option('-c, --count <k>', `variations, 1..${MAX_COUNT} (a grid when > 1)`, integer('--count', 1, MAX_COUNT), 1)
      .option('--seed <s>', `seed of the added noise 0..${MAX_SEED} (default: random, printed)`, integer('--seed', 0, MAX_SEED))
      .option('--label <name|index>', "class-conditional models: the class (default: the request's)")
      .option('--service <url>', 'the service a request id is read from', process.env['DDPM_URL'] ?? 'http://127.0.0.1:3000')
      .requiredOption('-o, --out <file.png>', 'output PNG'),
    undefined,
  ).action(varyCommand);
}
