/**
 * `ddpm-bot interpolate`: frames morphing one end into the other, run with the engine here. Each end is a seed
 * (--seed-a, --seed-b), or an image (--from-a, --from-b: a file, or an image of a request the running service
 * stored) inverted to its x_T; or one seed between two labels of a conditional model. The same options, seeds
 * and images always write the same bytes.
 */
import type { Command } from 'commander';
import { MAX_SEED } from '../core/rng.ts';
import { MAX_COUNT, type Engine, type InterpolationEnd } from '../engine/index.ts';
import { DEFAULT_FRAMES, MAX_FRAMES } from '../engine/edit-params.ts';
import { UsageError, integer, openEngine, resolveModel } from './common.ts';
import { progressBar } from './progress.ts';
import { writeOutput } from './output.ts';
import { definedOnly, samplingOptions, type SamplingOptions } from './sampling-options.ts';
import { imageSource, type StoredSource } from './stored-request.ts';

interface InterpolateOptions extends SamplingOptions {
  seedA?: number;
  seedB?: number;
  fromA?: string;
  fromB?: string;
  indexA?: number;
  indexB?: number;
  service: string;
  labelA?: string;
  labelB?: string;
  seed?: number;
  frames: number;
  out: string;
  gif?: string;
}

/** One end as given: a seed, or an image to read (a file or a stored request's). */
type GivenEnd = { readonly seed: number } | { readonly from: string; readonly index: number | undefined };

function givenEnd(end: 'a' | 'b', seed: number | undefined, from: string | undefined, index: number | undefined): GivenEnd | undefined {
  if (seed !== undefined && from !== undefined) throw new UsageError(`give --seed-${end} or --from-${end}, not both`);
  if (index !== undefined && from === undefined) throw new UsageError(`--index-${end} picks an image of the request given with --from-${end}`);
  if (seed !== undefined) return { seed };
  return from === undefined ? undefined : { from, index };
}

function endWords(end: GivenEnd): string {
  if ('seed' in end) return `seed ${end.seed}`;
  return end.index === undefined ? end.from : `image ${end.index} of ${end.from}`;
}

async function interpolateCommand(opts: InterpolateOptions): Promise<void> {
  const a = givenEnd('a', opts.seedA, opts.fromA, opts.indexA);
  const b = givenEnd('b', opts.seedB, opts.fromB, opts.indexB);
  const labels = opts.labelA !== undefined || opts.labelB !== undefined;
  if (labels) {
    if (a || b) throw new UsageError('--label-a and --label-b morph one seed (--seed) between two labels: leave out --seed-a, --seed-b, --from-a and --from-b');
    if (opts.labelA === undefined || opts.labelB === undefined) throw new UsageError('give both --label-a and --label-b');
    if (opts.label !== undefined) throw new UsageError('--label is for two ends; between two labels give --label-a and --label-b');
    return labelsCommand(opts);
  }
  if (!a && !b) {
    throw new UsageError('give the two ends, --seed-a or --from-a and --seed-b or --from-b (a seed, an image file or a request id each), or --label-a and --label-b with --seed (two labels of a conditional model)');
  }
  if (!a || !b) throw new UsageError(`give the other end too: --seed-${a ? 'b' : 'a'} or --from-${a ? 'b' : 'a'}`);
  if (opts.seed !== undefined) throw new UsageError('--seed is for --label-a/--label-b; give the ends with --seed-a/--from-a and --seed-b/--from-b');
  // Read both images before the engine starts: a typo costs no model load.
  const [sourceA, sourceB] = await Promise.all([a, b].map((end, i) => ('from' in end ? imageSource(i === 0 ? '--from-a' : '--from-b', end.from, end.index ?? 0, opts.service) : undefined)));
  const engine = await openEngine(opts.modelsDir);
  try {
    // A stored request's model, sampler, steps, options, label and guidance are the defaults (the first end's, then the last's); options given here win.
    const stored = sourceA?.params.model !== undefined ? sourceA.params : (sourceB?.params ?? {});
    const given = { model: await resolveModel(engine, opts.model), sampler: opts.sampler, steps: opts.steps, label: opts.label, guidance: opts.guidance };
    const sampler = given.sampler !== undefined && given.sampler !== stored['sampler'] ? { options: undefined, steps: undefined } : {};
    const params = engine.validateInterpolationEnds(definedOnly({ ...stored, ...sampler, ...definedOnly(given), frames: opts.frames }));
    const [endA, endB] = [await end(engine, params.model, a, sourceA), await end(engine, params.model, b, sourceB)];
    const result = await engine.interpolateEnds(params, endA, endB, progressBar('interpolate'));
    const ends = `${endWords(a)} to ${endWords(b)}`;
    await writeOutput(opts.out, result.stripPng, opts.scale, `${params.frames} frames, ${ends}, ${params.model}, ${params.sampler}, ${params.steps} steps`);
    if (opts.gif) await writeOutput(opts.gif, result.gif, opts.scale, ends);
  } finally {
    await engine.close();
  }
}

async function end(engine: Engine, model: string, given: GivenEnd, source: StoredSource | undefined): Promise<InterpolationEnd> {
  return 'seed' in given ? given : { image: await engine.sourceImage(model, source!.image) };
}

async function labelsCommand(opts: InterpolateOptions): Promise<void> {
  const engine = await openEngine(opts.modelsDir);
  try {
    const common = definedOnly({ model: await resolveModel(engine, opts.model), sampler: opts.sampler, steps: opts.steps, guidance: opts.guidance });
    const params = engine.validateLabelInterpolation({ ...common, ...definedOnly({ seed: opts.seed, label_a: opts.labelA, label_b: opts.labelB, frames: opts.frames }) });
    const result = await engine.interpolateLabels(params, progressBar('interpolate'));
    const ends = `label ${opts.labelA} to label ${opts.labelB}`;
    await writeOutput(opts.out, result.stripPng, opts.scale, `${params.frames} frames, ${ends}`);
    if (opts.gif) await writeOutput(opts.gif, result.gif, opts.scale, ends);
  } finally {
    await engine.close();
  }
}

export function addInterpolateCommand(program: Command): void {
  samplingOptions(
    program
      .command('interpolate')
      .description('frames morphing one end into the other (slerp of x_T, decoded by a deterministic sampler): each end a seed, or an image inverted to its x_T; or one seed from --label-a to --label-b')
      .option('--seed-a <s>', `first end: a seed 0..${MAX_SEED}`, integer('--seed-a', 0, MAX_SEED))
      .option('--seed-b <s>', `last end: a seed 0..${MAX_SEED}`, integer('--seed-b', 0, MAX_SEED))
      .option('--from-a <file|request id>', 'first end: an image file, or the id of a request the running service stored (--service), inverted to its x_T')
      .option('--from-b <file|request id>', 'last end: as --from-a')
      .option('--index-a <k>', 'with --from-a a request id: which of its images (default 0)', integer('--index-a', 0, MAX_COUNT - 1))
      .option('--index-b <k>', 'with --from-b a request id: which of its images (default 0)', integer('--index-b', 0, MAX_COUNT - 1))
      .option('--service <url>', 'the service a request id is read from', process.env['DDPM_URL'] ?? 'http://127.0.0.1:3000')
      .option('--label <name|index>', "class-conditional models: the class of every frame between two ends (default: a request's)")
      .option('--label-a <name|index>', 'class-conditional models: the first label (with --seed)')
      .option('--label-b <name|index>', 'class-conditional models: the last label (with --seed)')
      .option('--seed <s>', `with --label-a/--label-b: the seed of every frame (default: random)`, integer('--seed', 0, MAX_SEED))
      .option('-f, --frames <k>', `frames 2..${MAX_FRAMES}`, integer('--frames', 2, MAX_FRAMES), DEFAULT_FRAMES)
      .requiredOption('-o, --out <strip.png>', 'output strip PNG, the frames side by side with their mix')
      .option('--gif <anim.gif>', 'also write the frames as an animated GIF'),
    undefined,
  ).action(interpolateCommand);
}
