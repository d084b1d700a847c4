/**
 * Class-conditional models: the guidance sweep of the issue's measured targets. At DDIM-50 (eta 0)
 * and each guidance scale, sample i asks for class i mod K (see sweepTargets) with seed + i; the project's classifier
 * then says how often it reads the requested class (accuracy), how often it is sure of any class
 * (recognisable, p >= 0.9), and how far the samples' features are from the held-out images (Frechet
 * distance). Plus an unconditional row, the sampler's cost with and without guidance at the same
 * batch size, and a 16-image grid per class at the default guidance for judging by eye.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TorchGenerator } from '../core/rng.ts';
import { sliceBatch } from '../core/tensor.ts';
import type { Engine } from '../engine/index.ts';
import type { Conditioning } from '../model/manifest.ts';
import type { InstalledModel } from '../model/registry.ts';
import { gridPng, toPixels } from '../render/index.ts';
import type { EvalData } from './data.ts';
import { frechetFloor } from './data.ts';
import { bootstrapFrechet, frechetDistance, gaussianFit, standardDeviation } from './metrics.ts';
import { generateSet } from './sampling.ts';
import { binomialSe, confidentShare, histogram, labelAccuracy, perClass } from './scores.ts';

// The sweep measures one named sampler setting (as the report says), so it names DDIM's option; requests carry it in options.
export const SWEEP_SAMPLER = { sampler: 'ddim', steps: 50, options: { eta: 0 } } as const;
/** Images per class in the grids judged by eye. */
const GRID_PER_CLASS = 16;

export interface SweepRow {
  /** null: the unconditional row (no label). */
  guidance: number | null;
  samples: number;
  /** Share of samples the classifier reads as the requested class, and its binomial standard error. */
  accuracy: number | null;
  accuracySe: number | null;
  /** Share of samples the classifier assigns some class with p >= 0.9. */
  confident: number;
  confidentSe: number;
  frechet: number;
  frechetBootstrapSd: number;
  secondsPerImage: number;
  /** Per class of the model, in its order: samples that asked for it, and how many the classifier read as it. */
  classSamples: number[] | null;
  classCorrect: number[] | null;
  /** Unconditional row: the share of samples the classifier puts in each class. */
  histogram: number[] | null;
}

/**
 * Seconds per image at the same batch size, per repeat (interleaved, so load on the machine hits all
 * three alike): one network row per image (guidance 1), guided (two rows per image in one forward
 * pass), and the budget "one doubled batch": 2 x batch unguided images in one ONNX batch, its time
 * divided by batch.
 */
export interface GuidanceTiming {
  batch: number;
  guidance: number;
  unguided: number[];
  guided: number[];
  doubled: number[];
}

export interface GuidanceSweep {
  date: string;
  machine: string;
  sampler: string;
  steps: number;
  eta: number;
  samples: number;
  seed: number;
  bootstrapResamples: number;
  floor: number;
  floorCount: number;
  /** The scored classes (the model's classes, or its groups) and the number of labels the model takes. */
  classes: string[];
  labels: number;
  defaultScale: number;
  /** The same classifier on the real held-out images: accuracy, recognisable share, accuracy per class of the model. */
  heldoutAccuracy: number;
  heldoutConfident: number;
  heldoutClassAccuracy: number[];
  rows: SweepRow[];
  timing: GuidanceTiming | null;
  grids: { class: string; file: string }[];
}

export interface SweepOptions {
  scales: number[];
  samples: number;
  batch: number;
  seed: number;
  bootstrap: number;
  timingRepeats: number;
}

/**
 * What the sweep asks for and scores. A model with groups (labels finer than the classifier's classes) is
 * scored on its groups: sample i asks for group i mod G, cycling through that group's labels, so the requested
 * groups are as balanced as a coarse model's classes and the two compare on the same classifier.
 */
export interface SweepTargets {
  /** The scored classes: the model's classes, or its groups. */
  names: string[];
  labelOf(i: number): number;
  targetOf(i: number): number;
}

export function sweepTargets(conditioning: Conditioning): SweepTargets {
  const { classes, groups } = conditioning;
  if (!groups) return { names: classes, labelOf: (i) => i % classes.length, targetOf: (i) => i % classes.length };
  const names = [...new Set(groups)];
  const members = names.map((g) => groups.flatMap((name, label) => (name === g ? [label] : [])));
  return {
    names,
    labelOf: (i) => {
      const labels = members[i % names.length]!;
      return labels[Math.floor(i / names.length) % labels.length]!;
    },
    targetOf: (i) => i % names.length,
  };
}

/** The classifier's index of each scored class; the accuracy is only defined when it knows them all. */
function classifierIndices(model: InstalledModel, names: string[], classifierClasses: string[]): number[] {
  return names.map((name) => {
    const index = classifierClasses.indexOf(name);
    if (index < 0) {
      throw new Error(
        `${model.name}: class "${name}" of model.json's conditioning is not a class of eval/classifier.json (${classifierClasses.join(', ')}); re-train the classifier on the model's classes`,
      );
    }
    return index;
  });
}

export async function guidanceSweep(
  engine: Engine,
  model: InstalledModel,
  data: EvalData,
  opts: SweepOptions,
  machine: string,
  log: (message: string) => void,
): Promise<GuidanceSweep> {
  const conditioning = model.manifest.conditioning;
  if (!conditioning) throw new Error(`${model.name} is not class-conditional (model.json has no conditioning block); it has no guidance to sweep`);
  const k = data.classifier.classes.length;
  const targets = sweepTargets(conditioning);
  const classCount = targets.names.length;
  const toClassifier = classifierIndices(model, targets.names, data.classifier.classes);
  const defaultScale = conditioning.default_guidance_scale;
  const scales = [...new Set([...opts.scales, defaultScale])].sort((a, b) => a - b);
  const n = opts.samples;
  const d = data.dim;
  const { floor, floorCount } = frechetFloor(data, n);
  const requested = Array.from({ length: n }, (_, i) => targets.targetOf(i));
  log(`${model.name}: guidance sweep at DDIM-50, ${n} samples per scale (${scales.join(', ')} and unconditional); floor ${floor.toFixed(3)}`);

  const rows: SweepRow[] = [];
  const grids: GuidanceSweep['grids'] = [];
  for (const scale of [null, ...scales]) {
    // The default scale also draws the grids' samples: class c's grid is samples c, c + K, c + 2K, ...
    const count = scale === defaultScale ? Math.max(n, GRID_PER_CLASS * classCount) : n;
    const requests = Array.from({ length: count }, (_, i) => ({
      model: model.name,
      ...SWEEP_SAMPLER,
      seed: opts.seed + i,
      ...(scale === null ? {} : { label: targets.labelOf(i), guidance: scale }),
    }));
    const { images, seconds } = await generateSet(engine, requests, opts.batch);
    const run = await data.classifier.run(sliceBatch(images, 0, n));
    // Seeded the same for every row: resample r of every row picks the same sample indices.
    const generator = new TorchGenerator(opts.seed);
    const bootstrap = bootstrapFrechet(run.features, n, d, data.heldoutFit, opts.bootstrap, () => generator.uniformDouble());
    const confident = confidentShare(run.probs, k);
    const labelled = scale === null ? null : labelAccuracy(run.probs, k, requested.map((c) => toClassifier[c]!));
    const classes = labelled && perClass(labelled.correct, requested, classCount);
    const row: SweepRow = {
      guidance: scale,
      samples: n,
      accuracy: labelled?.accuracy ?? null,
      accuracySe: labelled ? binomialSe(labelled.accuracy, n) : null,
      confident,
      confidentSe: binomialSe(confident, n),
      frechet: frechetDistance(gaussianFit(run.features, n, d), data.heldoutFit, d),
      frechetBootstrapSd: standardDeviation(bootstrap),
      secondsPerImage: seconds / count,
      classSamples: classes?.samples ?? null,
      classCorrect: classes?.correct ?? null,
      histogram: scale === null ? histogram(run.probs, k) : null,
    };
    rows.push(row);
    const accuracy = row.accuracy === null ? '' : `accuracy ${(row.accuracy * 100).toFixed(1)}%, `;
    log(`  guidance ${scale ?? 'none'}: ${accuracy}recognisable ${(confident * 100).toFixed(1)}%, FD ${row.frechet.toFixed(3)} ± ${row.frechetBootstrapSd.toFixed(3)}, ${row.secondsPerImage.toFixed(3)} s/image`);
    if (scale === defaultScale) {
      for (let c = 0; c < classCount; c++) {
        const file = `samples/class-${c}.png`;
        const cells = Array.from({ length: GRID_PER_CLASS }, (_, j) => toPixels(images, c + j * classCount));
        await writeFile(path.join(data.dir, file), await gridPng(cells, { columns: 8, scale: 2 }));
        grids.push({ class: targets.names[c]!, file });
      }
    }
  }

  const timingScale = defaultScale !== 1 ? defaultScale : 2;
  const timing = opts.timingRepeats > 0 ? await timeGuidance(engine, model.name, conditioning.classes.length, opts, timingScale, log) : null;
  return {
    date: new Date().toISOString(),
    machine,
    sampler: SWEEP_SAMPLER.sampler,
    steps: SWEEP_SAMPLER.steps,
    eta: SWEEP_SAMPLER.options.eta,
    samples: n,
    seed: opts.seed,
    bootstrapResamples: opts.bootstrap,
    floor,
    floorCount,
    classes: targets.names,
    labels: conditioning.classes.length,
    defaultScale,
    heldoutAccuracy: data.heldoutAccuracy,
    heldoutConfident: data.heldoutConfident,
    heldoutClassAccuracy: toClassifier.map((c) => data.heldoutClassAccuracy[c]!),
    rows,
    timing,
    grids,
  };
}

/** The cost bound: a guided image may cost no more than an image of one doubled batch. */
async function timeGuidance(engine: Engine, model: string, classCount: number, opts: SweepOptions, scale: number, log: (message: string) => void): Promise<GuidanceTiming> {
  const { batch } = opts;
  const requests = (count: number, guidance: number) =>
    Array.from({ length: count }, (_, i) => ({ model, ...SWEEP_SAMPLER, seed: opts.seed + i, label: i % classCount, guidance }));
  const timing: GuidanceTiming = { batch, guidance: scale, unguided: [], guided: [], doubled: [] };
  const kinds = [
    { series: timing.unguided, count: batch, guidance: 1 },
    { series: timing.guided, count: batch, guidance: scale },
    { series: timing.doubled, count: 2 * batch, guidance: 1 },
  ];
  for (let r = 0; r < opts.timingRepeats; r++) {
    // Each repeat starts with the next kind, so no kind always runs first (cold caches) or last (a busy machine's
    // slowest moment): a fixed order made guided/doubled swing from 0.86 to 1.14 between two sweeps.
    for (let k = 0; k < kinds.length; k++) {
      const { series, count, guidance } = kinds[(r + k) % kinds.length]!;
      series.push((await generateSet(engine, requests(count, guidance), count)).seconds / batch);
    }
    log(`  timing ${r + 1}/${opts.timingRepeats} (batch ${batch}): unguided ${timing.unguided[r]!.toFixed(3)}, guided ${timing.guided[r]!.toFixed(3)}, doubled batch ${timing.doubled[r]!.toFixed(3)} s/image`);
  }
  return timing;
}
