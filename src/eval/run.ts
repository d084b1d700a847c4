/**
 * `npm run eval`: the analogue of the DDIM paper's Table 1 for each shipped model.
 *
 * Rows: DDPM and DDIM (eta = 0) at 10, 20, 50, 100 and 1000 steps, DPM-Solver++ at 10 and 20. Columns:
 * the Frechet distance between classifier features of generated and held-out real images (FID-style;
 * the distance between a real reference set and the held-out set is the floor), for MNIST the share of
 * samples classified with p >= 0.9 and the class histogram, and seconds per image. Also the variational
 * bound in bits/dim on held-out images (DDPM eq. 5). Writes models/<name>/EVAL.md, eval/results.json
 * and a sample grid per row under eval/samples/.
 *
 * At a few hundred samples the Frechet distance moves a lot with the seeds drawn, so every distance
 * comes with its bootstrap spread, and the papers' claims (DDIM-50 vs DDPM-1000, DPM-Solver++-20 vs
 * DDIM-50) with a paired-bootstrap interval of the ratio: a claim is only decided when the interval
 * lies on one side of the limit.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { z } from 'zod';
import { TorchGenerator } from '../core/rng.ts';
import { makeBetasFloat64 } from '../core/schedule.ts';
import type { Tensor } from '../core/tensor.ts';
import { concatBatch } from '../core/tensor.ts';
import { Engine } from '../engine/index.ts';
import type { InstalledModel } from '../model/registry.ts';
import type { Pixels } from '../render/index.ts';
import { fromPixels, gridPng, toPixels } from '../render/index.ts';
import { bootstrapFrechet, frechetDistance, gaussianFit, percentile, standardDeviation } from './metrics.ts';
import { variationalBoundBpd } from './likelihood.ts';

const setsSchema = z.object({
  tile: z.object({ channels: z.union([z.literal(1), z.literal(3)]), height: z.number().int(), width: z.number().int() }),
  columns: z.number().int().positive(),
  heldout: z.object({ file: z.string(), count: z.number().int(), labels: z.array(z.number().int()) }),
  reference: z.object({ file: z.string(), count: z.number().int(), labels: z.array(z.number().int()) }),
});
const classifierSchema = z.object({ onnx: z.string(), classes: z.array(z.string()) }).passthrough();

const DEFAULT_ROWS = 'ddpm:10,ddpm:20,ddpm:50,ddpm:100,ddpm:1000,ddim:10,ddim:20,ddim:50,ddim:100,ddim:1000,dpm-solver:10,dpm-solver:20';
/** The issue's defaults: 1,000 MNIST samples, 500 emoji samples. */
const DEFAULT_SAMPLES: Record<string, number> = { mnist: 1000, emoji: 500 };

interface Row {
  sampler: string;
  steps: number;
  samples: number;
  frechet: number;
  /** Standard deviation of the distance over the bootstrap resamples of the generated samples. */
  frechetBootstrapSd: number;
  confident: number | null;
  /** Binomial standard error of `confident`: sqrt(p (1 - p) / samples). */
  confidentSe: number | null;
  histogram: number[] | null;
  secondsPerImage: number;
  grid: string;
}

async function loadSheet(dir: string, sets: z.infer<typeof setsSchema>, which: 'heldout' | 'reference'): Promise<Tensor> {
  const { channels, height, width } = sets.tile;
  const sheet = sets[which];
  let image = sharp(path.join(dir, sheet.file));
  image = channels === 1 ? image.toColourspace('b-w') : image.removeAlpha().toColourspace('srgb');
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  const tiles: Tensor[] = [];
  for (let i = 0; i < sheet.count; i++) {
    const x0 = (i % sets.columns) * width;
    const y0 = Math.floor(i / sets.columns) * height;
    const px = new Uint8Array(width * height * channels);
    for (let y = 0; y < height; y++) {
      px.set(data.subarray(((y0 + y) * info.width + x0) * channels, ((y0 + y) * info.width + x0 + width) * channels), y * width * channels);
    }
    tiles.push(fromPixels({ data: px, width, height, channels }));
  }
  return concatBatch(tiles);
}

class Classifier {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly classes: string[],
  ) {}

  static async open(dir: string, threads: number): Promise<Classifier> {
    const meta = classifierSchema.parse(JSON.parse(await readFile(path.join(dir, 'classifier.json'), 'utf8')));
    const session = await ort.InferenceSession.create(path.join(dir, meta.onnx), { executionProviders: ['cpu'], intraOpNumThreads: threads });
    return new Classifier(session, meta.classes);
  }

  /** Features (n x d) and class probabilities (n x k) for images in [-1, 1]. */
  async run(images: Tensor): Promise<{ features: Float64Array; dim: number; probs: Float64Array }> {
    const n = images.shape[0]!;
    const featureParts: Float64Array[] = [];
    const probParts: Float64Array[] = [];
    let dim = 0;
    const per = images.data.length / n;
    for (let start = 0; start < n; start += 250) {
      const end = Math.min(n, start + 250);
      const input = new ort.Tensor('float32', images.data.slice(start * per, end * per), [end - start, ...images.shape.slice(1)]);
      const out = await this.session.run({ image: input });
      const features = out['features']!.data as Float32Array;
      const logits = out['logits']!.data as Float32Array;
      dim = features.length / (end - start);
      featureParts.push(Float64Array.from(features));
      const k = this.classes.length;
      const probs = new Float64Array(logits.length);
      for (let i = 0; i < end - start; i++) {
        const row = logits.subarray(i * k, (i + 1) * k);
        const max = Math.max(...row);
        let sum = 0;
        for (let j = 0; j < k; j++) sum += (probs[i * k + j] = Math.exp(row[j]! - max));
        for (let j = 0; j < k; j++) probs[i * k + j]! /= sum;
      }
      probParts.push(probs);
    }
    const join = (parts: Float64Array[]) => {
      const out = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
      let o = 0;
      for (const p of parts) (out.set(p, o), (o += p.length));
      return out;
    };
    return { features: join(featureParts), dim, probs: join(probParts) };
  }
}

/** Generated images as the user receives them: quantized to 8 bits, then back to [-1, 1]. */
function quantized(images: Tensor): Tensor {
  return concatBatch(Array.from({ length: images.shape[0]! }, (_, i) => fromPixels(toPixels(images, i))));
}

async function evaluateModel(engine: Engine, model: InstalledModel, opts: Options): Promise<void> {
  const dir = path.join(model.dir, 'eval');
  const sets = setsSchema.parse(JSON.parse(await readFile(path.join(dir, 'sets.json'), 'utf8')));
  const classifier = await Classifier.open(dir, opts.threads);
  const heldout = await loadSheet(dir, sets, 'heldout');
  const reference = await loadSheet(dir, sets, 'reference');
  const heldoutRun = await classifier.run(heldout);
  const d = heldoutRun.dim;
  const heldoutFit = gaussianFit(heldoutRun.features, heldout.shape[0]!, d);
  const realConfident = confidentShare(heldoutRun.probs, classifier.classes.length);
  const samples = opts.samples ?? DEFAULT_SAMPLES[model.name] ?? 500;
  // The Frechet distance is biased upwards at small sample sizes, so the floor uses as many real
  // reference images as there are generated samples (all of them when there are fewer).
  const floorCount = Math.min(samples, reference.shape[0]!);
  const referenceRun = await classifier.run(reference);
  const floor = frechetDistance(gaussianFit(referenceRun.features.subarray(0, floorCount * d), floorCount, d), heldoutFit, d);
  log(`${model.name}: ${samples} samples per row; floor (${floorCount} reference vs ${heldout.shape[0]} held-out) ${floor.toFixed(3)}`);
  await mkdir(path.join(dir, 'samples'), { recursive: true });

  const rows: Row[] = [];
  // Each row's bootstrap distances, by rowKey, for the claims' paired ratios.
  const bootstraps = new Map<string, Float64Array>();
  for (const { sampler, steps } of opts.rows) {
    const images: Tensor[] = [];
    const started = performance.now();
    // Sample i is `ddpm-bot generate --seed <seed + i>`; samples share ONNX batches of --batch.
    for (let done = 0; done < samples; done += opts.batch) {
      const seeds = Array.from({ length: Math.min(opts.batch, samples - done) }, (_, i) => opts.seed + done + i);
      const results = await engine.generateBatch(seeds.map((seed) => engine.validate({ model: model.name, sampler, steps, seed })));
      images.push(...results.map((r) => r.images));
    }
    const secondsPerImage = (performance.now() - started) / 1000 / samples;
    const generated = quantized(concatBatch(images));
    const run = await classifier.run(generated);
    const frechet = frechetDistance(gaussianFit(run.features, samples, d), heldoutFit, d);
    // Seeded the same for every row, so resample r of every row picks the same sample indices (paired).
    const generator = new TorchGenerator(opts.seed);
    const bootstrap = bootstrapFrechet(run.features, samples, d, heldoutFit, opts.bootstrap, () => generator.uniformDouble());
    const isDigits = model.name === 'mnist';
    const confident = isDigits ? confidentShare(run.probs, classifier.classes.length) : null;
    const grid = `samples/${sampler}-${steps}.png`;
    const cells: Pixels[] = Array.from({ length: Math.min(64, samples) }, (_, i) => toPixels(generated, i));
    await writeFile(path.join(dir, grid), await gridPng(cells, { columns: 8, scale: 2 }));
    const row: Row = {
      sampler,
      steps,
      samples,
      frechet,
      frechetBootstrapSd: standardDeviation(bootstrap),
      confident,
      confidentSe: confident === null ? null : Math.sqrt((confident * (1 - confident)) / samples),
      histogram: isDigits ? histogram(run.probs, classifier.classes.length) : null,
      secondsPerImage,
      grid,
    };
    rows.push(row);
    bootstraps.set(rowKey(row), bootstrap);
    log(`  ${sampler} ${steps}: FD ${frechet.toFixed(3)} ± ${row.frechetBootstrapSd.toFixed(3)}${row.confident !== null ? `, confident ${(row.confident * 100).toFixed(1)}%` : ''}, ${secondsPerImage.toFixed(3)} s/image`);
  }

  const claims = claimsFor(model.manifest.scheduler.num_train_timesteps).flatMap((claim) => {
    const num = rows.find((r) => rowKey(r) === rowKey(claim.numerator));
    const den = rows.find((r) => rowKey(r) === rowKey(claim.denominator));
    const numBoot = bootstraps.get(rowKey(claim.numerator));
    const denBoot = bootstraps.get(rowKey(claim.denominator));
    if (!num || !den || !numBoot || !denBoot) return [];
    const ratios = numBoot.map((v, i) => v / denBoot[i]!).sort();
    return [{ ...claim, ratio: num.frechet / den.frechet, interval90: [percentile(ratios, 5), percentile(ratios, 95)] as [number, number] }];
  });
  for (const c of claims) log(`  ${rowName(c.numerator)} / ${rowName(c.denominator)}: ${c.ratio.toFixed(2)}x (90% ${c.interval90.map((v) => v.toFixed(2)).join('-')}x)`);

  const vlb = await boundOnHeldout(engine, model, heldout, opts.vlbImages);
  log(`  bits/dim on ${opts.vlbImages} held-out images: ${vlb.mean.toFixed(3)} (L_T ${vlb.prior.toFixed(4)}, L_0 ${vlb.decoder.toFixed(3)})`);
  const results = {
    model: model.name,
    date: new Date().toISOString(),
    machine: `${os.cpus().length}x ${os.cpus()[0]?.model ?? 'cpu'}, onnxruntime-node ${ort.env.versions.node} (CPU)`,
    classes: classifier.classes,
    floor,
    floorCount,
    heldoutCount: heldout.shape[0]!,
    heldoutConfident: realConfident,
    samples,
    seed: opts.seed,
    bootstrapResamples: opts.bootstrap,
    rows,
    claims,
    bitsPerDim: { images: opts.vlbImages, ...vlb },
  };
  await writeFile(path.join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  // The model card shows one grid: DDPM with all its training steps when that row ran, else the last row.
  const showcase = rows.find((r) => r.sampler === 'ddpm' && r.steps === model.manifest.scheduler.num_train_timesteps) ?? rows.at(-1);
  if (showcase) await copyFile(path.join(dir, showcase.grid), path.join(model.dir, 'samples.png'));
  await writeFile(path.join(model.dir, 'EVAL.md'), evalMarkdown(results));
}

interface RowKey {
  sampler: string;
  steps: number;
}

/** The papers' claims the models issue asks us to reproduce: FD(numerator) <= limit x FD(denominator). */
function claimsFor(trainSteps: number): { numerator: RowKey; denominator: RowKey; limit: number; source: string }[] {
  return [
    { numerator: { sampler: 'ddim', steps: 50 }, denominator: { sampler: 'ddpm', steps: trainSteps }, limit: 1.5, source: 'DDIM paper, Table 1' },
    { numerator: { sampler: 'dpm-solver', steps: 20 }, denominator: { sampler: 'ddim', steps: 50 }, limit: 1, source: 'DPM-Solver++ paper' },
  ];
}

function rowKey(r: RowKey): string {
  return `${r.sampler}:${r.steps}`;
}

function samplerName(sampler: string): string {
  return sampler === 'ddim' ? 'DDIM (eta=0)' : sampler === 'ddpm' ? 'DDPM' : 'DPM-Solver++';
}

function rowName(r: RowKey): string {
  return `${samplerName(r.sampler)} ${r.steps}`;
}

function confidentShare(probs: Float64Array, k: number): number {
  const n = probs.length / k;
  let confident = 0;
  for (let i = 0; i < n; i++) if (Math.max(...probs.subarray(i * k, (i + 1) * k)) >= 0.9) confident++;
  return confident / n;
}

function histogram(probs: Float64Array, k: number): number[] {
  const n = probs.length / k;
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < n; i++) {
    const row = probs.subarray(i * k, (i + 1) * k);
    counts[row.indexOf(Math.max(...row))]!++;
  }
  return counts.map((c) => c / n);
}

async function boundOnHeldout(engine: Engine, model: InstalledModel, heldout: Tensor, count: number) {
  const { scheduler } = model.manifest;
  const betas = makeBetasFloat64(scheduler.beta_schedule, scheduler.num_train_timesteps, scheduler.beta_start, scheduler.beta_end);
  const per = heldout.data.length / heldout.shape[0]!;
  const x0 = { data: heldout.data.subarray(0, count * per), shape: [count, ...heldout.shape.slice(1)] };
  const variance = scheduler['variance_type'] === 'fixed_large' ? 'fixed_large' : 'fixed_small';
  const terms = await variationalBoundBpd(await engine.denoiser(model.name), betas, variance, x0, new TorchGenerator(0), (done, total) => {
    if (done % 100 === 0) log(`    bound: ${done}/${total} timesteps`);
  });
  const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
  return { mean: mean(terms.totalBpd), standardError: standardDeviation(terms.totalBpd) / Math.sqrt(count), prior: mean(terms.priorBpd), decoder: mean(terms.decoderBpd) };
}

type Results = {
  model: string;
  date: string;
  machine: string;
  classes: string[];
  floor: number;
  floorCount: number;
  heldoutCount: number;
  heldoutConfident: number;
  samples: number;
  seed: number;
  bootstrapResamples: number;
  rows: Row[];
  claims: { numerator: RowKey; denominator: RowKey; limit: number; source: string; ratio: number; interval90: [number, number] }[];
  bitsPerDim: { images: number; mean: number; standardError: number; prior: number; decoder: number };
};

function evalMarkdown(r: Results): string {
  const digits = r.rows.some((row) => row.confident !== null);
  const lines = [
    `# Evaluation: ${r.model}`,
    '',
    `Generated by \`npm run eval\` on ${r.date.slice(0, 10)} (${r.machine}); ${r.samples} samples per row, seeds from ${r.seed}.`,
    '',
    `**Frechet distance** between penultimate-layer features of our ${r.model === 'mnist' ? 'digit' : 'emoji-category'} classifier (models/${r.model}/eval/classifier.onnx) for generated images and the ${r.heldoutCount} held-out real images; lower is better. Floor (${r.floorCount} real training images, as many as the generated samples, vs the held-out set): **${r.floor.toFixed(3)}**.`,
    `The ± after a distance is its standard deviation over ${r.bootstrapResamples} bootstrap resamples of the generated samples (how much it would move with other seeds).`,
    digits ? `**Confident**: share of samples the classifier assigns a class with p >= 0.9, ± its binomial standard error (held-out real digits: ${(r.heldoutConfident * 100).toFixed(1)}%). **Classes**: the smallest and largest share of any digit.` : '',
    '',
    `| sampler | steps | Frechet distance | ${digits ? 'confident | classes min-max | ' : ''}s / image | samples |`,
    `|---|---|---|${digits ? '---|---|' : ''}---|---|`,
    ...r.rows.map((row) => {
      const classes = row.histogram ? `${(Math.min(...row.histogram) * 100).toFixed(1)}%-${(Math.max(...row.histogram) * 100).toFixed(1)}% | ` : '';
      const confident = row.confident !== null ? `${(row.confident * 100).toFixed(1)}% ± ${((row.confidentSe ?? NaN) * 100).toFixed(1)} | ` : '';
      return `| ${samplerName(row.sampler)} | ${row.steps} | ${row.frechet.toFixed(3)} ± ${row.frechetBootstrapSd.toFixed(3)} | ${confident}${classes}${row.secondsPerImage.toFixed(3)} | [grid](eval/${row.grid}) |`;
    }),
    '',
    ...(r.claims.length
      ? [
          '**Claims of the papers, reproduced on this model** (ratio of Frechet distances, with the 5th-95th percentile of the ratio over the same bootstrap resamples, paired by seed):',
          '',
          ...r.claims.map(
            (c) =>
              `- ${rowName(c.numerator)} / ${rowName(c.denominator)}: **${c.ratio.toFixed(2)}x** (90% interval ${c.interval90[0].toFixed(2)}x-${c.interval90[1].toFixed(2)}x); claim: <= ${c.limit}x (${c.source}).`,
          ),
          '',
        ]
      : []),
    `**Variational bound** (DDPM eq. 5, exact sum over all ${1000} timesteps, discretised decoder of eq. 13) on ${r.bitsPerDim.images} held-out images: **${r.bitsPerDim.mean.toFixed(3)}${Number.isFinite(r.bitsPerDim.standardError) ? ` ± ${r.bitsPerDim.standardError.toFixed(3)}` : ''} bits/dim** (prior term L_T ${r.bitsPerDim.prior.toFixed(4)}, decoder term L_0 ${r.bitsPerDim.decoder.toFixed(3)}). For scale: the DDPM paper reports <= 3.70 bits/dim on CIFAR10 (32x32 RGB) for its best-likelihood model.`,
    '',
    ...r.rows.map((row) => `### ${row.sampler} ${row.steps} steps\n\n![${row.sampler} ${row.steps}](eval/${row.grid})\n`),
  ];
  return `${lines.filter((l, i, all) => !(l === '' && all[i - 1] === '')).join('\n')}\n`;
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

interface Options {
  samples?: number;
  batch: number;
  seed: number;
  vlbImages: number;
  rows: { sampler: string; steps: number }[];
  threads: number;
  bootstrap: number;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number >= 0');
  return n;
}

function parseRows(value: string): { sampler: string; steps: number }[] {
  return value.split(',').map((part) => {
    const [sampler, steps] = part.split(':');
    if (!sampler || !steps || !/^\d+$/.test(steps)) throw new InvalidArgumentError(`rows are sampler:steps pairs, got "${part}"`);
    return { sampler, steps: Number(steps) };
  });
}

const program = new Command('npm run eval --')
  .description('Evaluate shipped models: Frechet distance, classifier confidence, bits/dim; writes models/<name>/EVAL.md')
  .option('-m, --model <name...>', 'models to evaluate (default: every model with an eval/ folder)')
  .option('-n, --samples <n>', 'samples per row (default: 1000 for mnist, 500 for emoji)', positiveInt)
  .option('--batch <n>', 'images per ONNX batch', positiveInt, 50)
  .option('--seed <s>', 'seed of sample 0; sample i uses seed + i', nonNegativeInt, 0)
  .option('--bootstrap <n>', 'bootstrap resamples for the spread of each Frechet distance and the claims\' intervals', positiveInt, 200)
  .option('--vlb-images <n>', 'held-out images for the bits/dim bound (1000 model calls each)', positiveInt, 100)
  .addOption(new Option('--rows <list>', 'sampler:steps rows').argParser(parseRows).default(parseRows(DEFAULT_ROWS), DEFAULT_ROWS))
  .option('--threads <n>', 'onnxruntime intra-op threads (default 0: one per core); 1 when evaluating models side by side', nonNegativeInt, 0)
  .action(async (opts: Options & { model?: string[] }) => {
    const engine = await Engine.load({ threads: opts.threads });
    try {
      const models = engine.models.list().filter((m) => (opts.model ? opts.model.includes(m.name) : true));
      for (const model of models) {
        const hasEval = await readFile(path.join(model.dir, 'eval', 'sets.json')).then(() => true, () => false);
        if (hasEval) await evaluateModel(engine, model, opts);
        else if (opts.model) throw new Error(`${model.name} has no eval/sets.json (run models/train/export_eval_sets.py)`);
      }
    } finally {
      await engine.close();
    }
  });

await program.parseAsync();
