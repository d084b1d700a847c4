/**
 * `ddpm-bot vary` (SDEdit variations of a PNG, or of an image of a request the running service stored)
 * and `ddpm-bot interpolate` (two seeds' images, or one seed between two labels, morphing in frames).
 * Both run the engine here; the same options and seeds always write the same bytes.
 */
import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import { MAX_SEED } from '../core/rng.ts';
import { DEFAULT_SAMPLER, MAX_COUNT } from '../engine/index.ts';
import { MAX_GUIDANCE } from '../engine/conditioning.ts';
import { DEFAULT_FRAMES, DEFAULT_STRENGTH, MAX_FRAMES, MAX_STRENGTH, MIN_STRENGTH } from '../engine/edit-params.ts';
import { batchPng } from '../render/index.ts';
import { UsageError, decimal, integer, modelsDirOption, openEngine, resolveModel, scaleOption } from './common.ts';
import { progressBar } from './progress.ts';
import { readImageFile } from './image-file.ts';
import { writeOutput } from './output.ts';
import { storedSource } from './stored-request.ts';

interface SamplingOptions {
  model?: string;
  modelsDir?: string;
  sampler?: string;
  steps?: number;
  label?: string;
  guidance?: number;
  scale: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The generation options the two commands share, in `generate`'s words. */
function samplingOptions(command: Command, defaultSampler: string | undefined): Command {
  return command
    .option('-m, --model <name|dir>', 'installed model name or a model folder (default: the default model)')
    .addOption(new Option('-s, --sampler <name>', 'sampler plugin (see `ddpm-bot samplers`)').default(defaultSampler))
    .option('-n, --steps <n>', "inference steps (default: the sampler's)", integer('--steps', 1, 100_000))
    .option('--guidance <s>', `classifier-free guidance scale 0..${MAX_GUIDANCE} with a label (default: the model's)`, decimal('--guidance'))
    .addOption(scaleOption())
    .addOption(modelsDirOption());
}

async function varyCommand(opts: SamplingOptions & { from: string; index: number; strength?: number; count: number; seed?: number; out: string; service: string }): Promise<void> {
  const isFile = existsSync(opts.from);
  if (!isFile && !UUID.test(opts.from)) {
    throw new UsageError(`--from ${opts.from}: neither an image file nor a request id (a UUID such as the playground or the API shows)`);
  }
  // A request's model, sampler, steps, options, label and guidance are the defaults; options given here win.
  const source = isFile ? { image: await readImageFile(opts.from, '--from'), params: {} } : await storedSource(opts.service, opts.from, opts.index);
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

async function interpolateCommand(
  opts: SamplingOptions & { seedA?: number; seedB?: number; labelA?: string; labelB?: string; seed?: number; frames: number; out: string; gif?: string },
): Promise<void> {
  const seeds = opts.seedA !== undefined || opts.seedB !== undefined;
  const labels = opts.labelA !== undefined || opts.labelB !== undefined;
  if (seeds === labels) throw new UsageError('give --seed-a and --seed-b (two seeds), or --label-a and --label-b with --seed (two labels of a conditional model)');
  if (seeds && (opts.seedA === undefined || opts.seedB === undefined)) throw new UsageError('give both --seed-a and --seed-b');
  if (labels && (opts.labelA === undefined || opts.labelB === undefined)) throw new UsageError('give both --label-a and --label-b');
  if (seeds && opts.seed !== undefined) throw new UsageError('--seed is for --label-a/--label-b; between two seeds give --seed-a and --seed-b');
  if (labels && opts.label !== undefined) throw new UsageError('--label is for --seed-a/--seed-b; between two labels give --label-a and --label-b');
  const engine = await openEngine(opts.modelsDir);
  try {
    const common = definedOnly({ model: await resolveModel(engine, opts.model), sampler: opts.sampler, steps: opts.steps, guidance: opts.guidance });
    const bar = progressBar('interpolate');
    const result = seeds
      ? await engine.interpolate(engine.validateInterpolation({ ...common, ...definedOnly({ label: opts.label, seed_a: opts.seedA, seed_b: opts.seedB, frames: opts.frames }) }), bar)
      : await engine.interpolateLabels(engine.validateLabelInterpolation({ ...common, ...definedOnly({ seed: opts.seed, label_a: opts.labelA, label_b: opts.labelB, frames: opts.frames }) }), bar);
    const ends = seeds ? `seed ${opts.seedA} to seed ${opts.seedB}` : `label ${opts.labelA} to label ${opts.labelB}`;
    await writeOutput(opts.out, result.stripPng, opts.scale, `${opts.frames} frames, ${ends}`);
    if (opts.gif) await writeOutput(opts.gif, result.gif, opts.scale, ends);
  } finally {
    await engine.close();
  }
}

/** The entries whose value is given: an option left out takes the default of the layer below. */
function definedOnly(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}

export function addEditCommands(program: Command): void {
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

  samplingOptions(
    program
      .command('interpolate')
      .description('frames morphing the image of --seed-a into that of --seed-b (slerp of x_T, decoded by a deterministic sampler), or one seed from --label-a to --label-b')
      .option('--seed-a <s>', `first seed 0..${MAX_SEED}`, integer('--seed-a', 0, MAX_SEED))
      .option('--seed-b <s>', `last seed 0..${MAX_SEED}`, integer('--seed-b', 0, MAX_SEED))
      .option('--label <name|index>', 'class-conditional models: the class of every frame between two seeds')
      .option('--label-a <name|index>', 'class-conditional models: the first label (with --seed)')
      .option('--label-b <name|index>', 'class-conditional models: the last label (with --seed)')
      .option('--seed <s>', `with --label-a/--label-b: the seed of every frame (default: random)`, integer('--seed', 0, MAX_SEED))
      .option('-f, --frames <k>', `frames 2..${MAX_FRAMES}`, integer('--frames', 2, MAX_FRAMES), DEFAULT_FRAMES)
      .requiredOption('-o, --out <strip.png>', 'output strip PNG, the frames side by side with their mix')
      .option('--gif <anim.gif>', 'also write the frames as an animated GIF'),
    DEFAULT_SAMPLER,
  ).action(interpolateCommand);
}
