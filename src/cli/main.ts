/**
 * `ddpm-bot`: generate images, show the forward process, list models and samplers, or run the
 * service. Bad input exits with code 2 and one line naming the bad value and what is allowed.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { MAX_SEED } from '../core/rng.ts';
import { DEFAULT_SAMPLER, MAX_COUNT, ValidationError } from '../engine/index.ts';
import { MAX_GUIDANCE } from '../engine/conditioning.ts';
import { optionHelp, optionPairs, optionSpecs, optionsFromText } from '../engine/options.ts';
import { PluginError } from '../engine/samplers.ts';
import { CompareError, compareSamplers, type CompareOptions } from './compare.ts';
import { readImageFile } from './image-file.ts';
import { ManifestError } from '../model/manifest.ts';
import type { Pixels } from '../render/index.ts';
import { animation, batchPixels, batchPng, evenlySpaced } from '../render/index.ts';
import { ImageInputError } from '../render/input.ts';
import { writeOutput } from './output.ts';
import { UsageError, decimal, integer, modelsDirOption, openEngine, resolveModel, scaleOption } from './common.ts';
import { progressBar } from './progress.ts';
import { addInterpolateCommand } from './interpolate.ts';
import { addInvertCommand } from './invert.ts';
import { addVaryCommand } from './vary.ts';

/** Exit code for input the user can fix. */
const USAGE_ERROR = 2;

/** `--option name=value`, repeatable: collected as [name, text] pairs, typed later by the chosen sampler's declarations. */
function samplerOption(value: string, previous: [string, string][] = []): [string, string][] {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`--option takes name=value (got "${value}"); \`ddpm-bot samplers\` lists each sampler's options`);
  return [...previous, [value.slice(0, at).trim(), value.slice(at + 1)]];
}

function timestepList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new InvalidArgumentError('timesteps must be comma-separated integers, e.g. 0,100,500,999');
  return parts.map(Number);
}

async function generateCommand(opts: {
  model?: string;
  modelsDir?: string;
  sampler: string;
  steps?: number;
  option?: [string, string][];
  label?: string;
  guidance?: number;
  seed?: number;
  count: number;
  out: string;
  gif?: string;
  scale: number;
}): Promise<void> {
  const engine = await openEngine(opts.modelsDir);
  try {
    const model = await resolveModel(engine, opts.model);
    const params = engine.validate({
      model,
      sampler: opts.sampler,
      steps: opts.steps,
      seed: opts.seed,
      count: opts.count,
      options: optionsFromText(engine.sampler(opts.sampler), opts.option ?? []),
      label: opts.label,
      guidance: opts.guidance,
    });
    const bar = progressBar(`${params.sampler} ${params.steps} steps`);
    const trajectory: Pixels[] = [];
    const result = await engine.generate(params, (p) => {
      bar?.(p);
      if (opts.gif) trajectory.push(batchPixels(p.predictedX0));
    });
    const { provider } = await engine.denoiser(params.model);
    process.stdout.write(`seed ${params.seed}\n`);
    const options = optionPairs(params.options).map(([name, value]) => `${name} ${value}`);
    const sampler = options.length > 0 ? `${params.sampler} (${options.join(', ')})` : params.sampler;
    const what = `${params.model}, ${params.label === null ? '' : `label ${params.label}, guidance ${params.guidance}, `}${sampler}, ${params.steps} steps, ${params.count} image${params.count > 1 ? 's' : ''}, ${(result.samplingMs / 1000).toFixed(2)} s on ${provider}`;
    await writeOutput(opts.out, await batchPng(result.images), opts.scale, what);
    if (opts.gif) {
      const frames = evenlySpaced(trajectory, 60);
      await writeOutput(opts.gif, await animation(frames, { scale: 4 }), opts.scale, `predicted x0 at ${frames.length} of the ${params.steps} steps`);
    }
  } finally {
    await engine.close();
  }
}

async function noiseDemoCommand(opts: {
  model?: string;
  modelsDir?: string;
  image?: string;
  seed?: number;
  timesteps?: number[];
  denoiseFrom?: number;
  out: string;
  gif?: string;
  reconstruction?: string;
  scale: number;
}): Promise<void> {
  // Before the engine loads: a bad --image is answered at once, without reading a huge file.
  const image = opts.image ? await readImageFile(opts.image) : undefined;
  const engine = await openEngine(opts.modelsDir);
  try {
    const model = (await resolveModel(engine, opts.model)) ?? engine.models.defaultModel()?.name;
    if (!model) throw new ValidationError('model', 'no models are installed');
    const seed = opts.seed ?? engine.validate({ model }).seed;
    if (opts.reconstruction && opts.denoiseFrom === undefined) throw new UsageError('--reconstruction needs --denoise-from <t>');
    const result = await engine.noiseDemo({
      model,
      seed,
      ...(image ? { image } : {}),
      ...(opts.timesteps ? { timesteps: opts.timesteps } : {}),
      ...(opts.denoiseFrom !== undefined ? { denoiseFrom: opts.denoiseFrom } : {}),
    });
    process.stdout.write(`seed ${seed}\n`);
    const frames = `x_t at t = ${result.timesteps.join(',')}`;
    await writeOutput(opts.out, result.gridPng, opts.scale, frames);
    if (opts.gif) await writeOutput(opts.gif, result.gif, opts.scale, frames);
    if (opts.reconstruction && result.reconstructionPng) {
      await writeOutput(opts.reconstruction, result.reconstructionPng, opts.scale, `the model's reconstruction from x_${opts.denoiseFrom}`);
    }
  } finally {
    await engine.close();
  }
}

async function compareCommand(opts: Omit<CompareOptions, 'model'> & { model?: string; modelsDir?: string }): Promise<void> {
  const engine = await openEngine(opts.modelsDir);
  try {
    const model = await resolveModel(engine, opts.model);
    await compareSamplers(engine, { ...opts, model }, (line) => process.stdout.write(`${line}\n`));
  } finally {
    await engine.close();
  }
}

function nameList(value: string): string[] {
  const names = value.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw new InvalidArgumentError('samplers must be comma-separated names, e.g. ddpm,ddim,score-sde');
  return names;
}

async function listModels(modelsDir: string | undefined): Promise<void> {
  const engine = await openEngine(modelsDir);
  const defaultName = engine.models.defaultModel()?.name;
  for (const m of engine.models.list()) {
    const { channels, height, width } = m.manifest.image;
    const mark = m.name === defaultName ? '  (default)' : '';
    process.stdout.write(`${m.name.padEnd(12)} ${width}x${height}x${channels}  ${m.manifest.description ?? ''}${mark}\n`);
    const c = m.manifest.conditioning;
    if (c) process.stdout.write(`${''.padEnd(12)} labels: ${c.classes.join(', ')}; default guidance ${c.default_guidance_scale}\n`);
  }
  await engine.close();
}

async function listSamplers(): Promise<void> {
  const engine = await openEngine(undefined);
  for (const p of engine.samplers.list()) {
    const limits = p.stepLimits(1000);
    const steps = `steps ${limits.min}..${limits.max} (default ${limits.default})`;
    process.stdout.write(`${p.name.padEnd(12)} ${steps.padEnd(29)} ${p.description}\n`);
    for (const spec of optionSpecs(p)) process.stdout.write(`${''.padEnd(12)} --option ${optionHelp(spec)}\n`);
  }
  await engine.close();
}

export function buildProgram(): Command {
  const program = new Command('ddpm-bot')
    .description('Denoising diffusion image generation: CLI, and the Discord/Slack/web service (serve).')
    .showHelpAfterError(false)
    .exitOverride();

  program
    .command('generate')
    .description('generate images; prints the seed (same seed and options => same PNG)')
    .option('-m, --model <name|dir>', 'installed model name or a model folder (default: the default model, see `ddpm-bot models`)')
    .addOption(new Option('-s, --sampler <name>', 'sampler plugin (see `ddpm-bot samplers`)').default(DEFAULT_SAMPLER))
    .option('-n, --steps <n>', 'inference steps (default: the sampler\'s, e.g. 50 for ddim)', integer('--steps', 1, 100_000))
    .option('--option <name=value>', "a sampler's own option, repeatable (`ddpm-bot samplers` lists each sampler's)", samplerOption)
    .option('--label <name|index>', 'class-conditional models: the class to draw (see `ddpm-bot models`)')
    .option('--guidance <s>', `classifier-free guidance scale 0..${MAX_GUIDANCE} with --label (default: the model's)`, decimal('--guidance'))
    .option('--seed <s>', `seed 0..${MAX_SEED} (default: random, printed)`, integer('--seed', 0, MAX_SEED))
    .option('-c, --count <k>', `images in one batch, 1..${MAX_COUNT} (a grid when > 1)`, integer('--count', 1, MAX_COUNT), 1)
    .requiredOption('-o, --out <file.png>', 'output PNG')
    .option('--gif <file.gif>', 'also write the predicted-x0 trajectory as an animated GIF')
    .addOption(scaleOption())
    .addOption(modelsDirOption())
    .action(generateCommand);

  program
    .command('noise-demo')
    .description('forward diffusion frames x_t of an image (or a generated one) as a labelled grid')
    .option('-m, --model <name|dir>', 'model whose schedule and size to use (default: the default model)')
    .option('-i, --image <file>', 'PNG/JPEG/WebP/GIF, at most 10 MB and 4096x4096 (default: generate one)')
    .option('--seed <s>', `seed of the noise 0..${MAX_SEED} (default: random, printed)`, integer('--seed', 0, MAX_SEED))
    .option('-t, --timesteps <list>', 'comma-separated timesteps (default 0,50,100,200,300,500,700,999)', timestepList)
    .option('--denoise-from <t>', 'also run the model back from x_t to show the reconstruction', integer('--denoise-from', 1, 100_000))
    .requiredOption('-o, --out <grid.png>', 'output grid PNG')
    .option('--gif <anim.gif>', 'also write the frames as an animated GIF')
    .option('--reconstruction <file.png>', 'with --denoise-from: write the reconstructed image')
    .addOption(scaleOption())
    .addOption(modelsDirOption())
    .action(noiseDemoCommand);

  addVaryCommand(program);
  addInterpolateCommand(program);
  addInvertCommand(program);

  program
    .command('compare')
    .description('one seed through every sampler (or --samplers): a table of steps and seconds, one PNG per sampler')
    .option('-m, --model <name|dir>', 'installed model name or a model folder (default: the default model)')
    .option('--samplers <list>', 'comma-separated sampler plugins (default: all, see `ddpm-bot samplers`)', nameList)
    .option('-n, --steps <n>', 'the same inference steps for every sampler (default: each sampler\'s own)', integer('--steps', 1, 100_000))
    .option('--label <name|index>', 'class-conditional models: the class to draw')
    .option('--guidance <s>', `classifier-free guidance scale 0..${MAX_GUIDANCE} with --label (default: the model's)`, decimal('--guidance'))
    .option('--seed <s>', `seed 0..${MAX_SEED} (default: random, printed)`, integer('--seed', 0, MAX_SEED))
    .requiredOption('-o, --out-dir <dir>', 'folder for the images, one <sampler>.png each (created if missing)')
    .addOption(scaleOption())
    .addOption(modelsDirOption())
    .action(compareCommand);

  program
    .command('models')
    .description('list installed models, the default one, and the labels of class-conditional ones')
    .addOption(modelsDirOption())
    .action((opts: { modelsDir?: string }) => listModels(opts.modelsDir));

  program.command('samplers').description('list sampler plugins').action(listSamplers);

  program
    .command('serve')
    .description('run the service: HTTP API and playground on PORT, chat adapters whose tokens are set, workers by ROLE (see README "Configuration")')
    .action(async () => {
      // Loaded on demand: the database and chat clients are not needed by the other commands.
      const { runService } = await import('../main.ts');
      await runService();
    });

  for (const command of program.commands) command.exitOverride();
  return program;
}

function userMessage(error: unknown): string | undefined {
  if (error instanceof ValidationError || error instanceof ImageInputError || error instanceof UsageError || error instanceof ManifestError || error instanceof PluginError || error instanceof CompareError) {
    return error.message;
  }
  return undefined;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successful exits; every parse error is a usage error.
      return error.exitCode === 0 ? 0 : USAGE_ERROR;
    }
    const message = userMessage(error);
    if (message) {
      process.stderr.write(`error: ${message}\n`);
      return USAGE_ERROR;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
