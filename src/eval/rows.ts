/**
 * The samplers' rows, the analogue of the DDIM paper's Table 1: DDPM, DDIM (eta = 0), DPM-Solver++, Euler
 * and Score SDE at several step counts, each with its Frechet distance (and bootstrap spread), for MNIST the share
 * of recognisable samples and the class histogram, and seconds per image; then the papers' claims as
 * paired-bootstrap ratios. A class-conditional model's rows are unconditional samples (no label).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TorchGenerator } from '../core/rng.ts';
import type { Engine } from '../engine/index.ts';
import type { InstalledModel } from '../model/registry.ts';
import { gridPng, toPixels } from '../render/index.ts';
import type { EvalData } from './data.ts';
import { bootstrapFrechet, frechetDistance, gaussianFit, percentile, standardDeviation } from './metrics.ts';
import { generateSet } from './sampling.ts';
import { binomialSe, confidentShare, histogram } from './scores.ts';

export interface RowKey {
  sampler: string;
  steps: number;
}

export interface Row extends RowKey {
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

export interface Claim {
  numerator: RowKey;
  denominator: RowKey;
  limit: number;
  source: string;
  ratio: number;
  interval90: [number, number];
}

export interface RowsOptions {
  rows: RowKey[];
  samples: number;
  batch: number;
  seed: number;
  bootstrap: number;
}

export function rowKey(r: RowKey): string {
  return `${r.sampler}:${r.steps}`;
}

const SAMPLER_NAMES: Readonly<Record<string, string>> = {
  ddpm: 'DDPM',
  ddim: 'DDIM (eta=0)',
  'dpm-solver': 'DPM-Solver++',
  euler: 'Euler',
  'score-sde': 'Score SDE (PC)',
};

/** The table's name for a sampler's rows (rows use each sampler's default options); any other plugin by its name. */
export function samplerName(sampler: string): string {
  return SAMPLER_NAMES[sampler] ?? sampler;
}

export function rowName(r: RowKey): string {
  return `${samplerName(r.sampler)} ${r.steps}`;
}

/** The papers' claims the models issue asks us to reproduce: FD(numerator) <= limit x FD(denominator). */
function claimsFor(trainSteps: number): Omit<Claim, 'ratio' | 'interval90'>[] {
  return [
    { numerator: { sampler: 'ddim', steps: 50 }, denominator: { sampler: 'ddpm', steps: trainSteps }, limit: 1.5, source: 'DDIM paper, Table 1' },
    { numerator: { sampler: 'dpm-solver', steps: 20 }, denominator: { sampler: 'ddim', steps: 50 }, limit: 1, source: 'DPM-Solver++ paper' },
  ];
}

export async function samplerRows(
  engine: Engine,
  model: InstalledModel,
  data: EvalData,
  opts: RowsOptions,
  log: (message: string) => void,
): Promise<{ rows: Row[]; claims: Claim[] }> {
  const { samples } = opts;
  const d = data.dim;
  const k = data.classifier.classes.length;
  const rows: Row[] = [];
  // Each row's bootstrap distances, by rowKey, for the claims' paired ratios.
  const bootstraps = new Map<string, Float64Array>();
  for (const { sampler, steps } of opts.rows) {
    // Sample i is `ddpm-bot generate --seed <seed + i>`; samples share ONNX batches of --batch.
    const requests = Array.from({ length: samples }, (_, i) => ({ model: model.name, sampler, steps, seed: opts.seed + i }));
    const { images: generated, seconds } = await generateSet(engine, requests, opts.batch);
    const run = await data.classifier.run(generated);
    const frechet = frechetDistance(gaussianFit(run.features, samples, d), data.heldoutFit, d);
    // Seeded the same for every row, so resample r of every row picks the same sample indices (paired).
    const generator = new TorchGenerator(opts.seed);
    const bootstrap = bootstrapFrechet(run.features, samples, d, data.heldoutFit, opts.bootstrap, () => generator.uniformDouble());
    const isDigits = model.name === 'mnist';
    const confident = isDigits ? confidentShare(run.probs, k) : null;
    const grid = `samples/${sampler}-${steps}.png`;
    const cells = Array.from({ length: Math.min(64, samples) }, (_, i) => toPixels(generated, i));
    await writeFile(path.join(data.dir, grid), await gridPng(cells, { columns: 8, scale: 2 }));
    const row: Row = {
      sampler,
      steps,
      samples,
      frechet,
      frechetBootstrapSd: standardDeviation(bootstrap),
      confident,
      confidentSe: confident === null ? null : binomialSe(confident, samples),
      histogram: isDigits ? histogram(run.probs, k) : null,
      secondsPerImage: seconds / samples,
      grid,
    };
    rows.push(row);
    bootstraps.set(rowKey(row), bootstrap);
    log(`  ${sampler} ${steps}: FD ${frechet.toFixed(3)} ± ${row.frechetBootstrapSd.toFixed(3)}${row.confident !== null ? `, confident ${(row.confident * 100).toFixed(1)}%` : ''}, ${row.secondsPerImage.toFixed(3)} s/image`);
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
  return { rows, claims };
}
