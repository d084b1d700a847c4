/**
 * One model's evaluation: the parts asked for (sampler rows, the variational bound, and for a
 * class-conditional model the guidance sweep), merged into eval/results.json and written out as
 * models/<name>/EVAL.md with a sample grid per row under eval/samples/.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { TorchGenerator } from '../core/rng.ts';
import { makeBetasFloat64 } from '../core/schedule.ts';
import type { Tensor } from '../core/tensor.ts';
import type { Engine } from '../engine/index.ts';
import type { InstalledModel } from '../model/registry.ts';
import { frechetFloor, loadEvalData } from './data.ts';
import { guidanceSweep } from './guidance.ts';
import { variationalBoundBpd } from './likelihood.ts';
import { standardDeviation } from './metrics.ts';
import { evalMarkdown } from './report.ts';
import type { Results } from './results.ts';
import { fdBaseline, mergeResults, readResults } from './results.ts';
import type { RowKey } from './rows.ts';
import { samplerRows } from './rows.ts';

export const PARTS = ['rows', 'bound', 'guidance'] as const;
export type Part = (typeof PARTS)[number];

/** The defaults: 1,000 MNIST samples, 500 emoji samples. */
const DEFAULT_SAMPLES: Record<string, number> = { mnist: 1000, emoji: 500 };

export interface EvalOptions {
  samples?: number;
  batch: number;
  seed: number;
  vlbImages: number;
  rows: RowKey[];
  threads: number;
  bootstrap: number;
  /** Parts to measure; default all that apply (the guidance sweep only to class-conditional models). */
  only?: Part[];
  guidanceScales: number[];
  timingRepeats: number;
  /** A results.json whose DDPM row (all training steps) is the conditional model's Frechet-distance baseline. */
  fdBaseline?: string;
}

function machine(): string {
  return `${os.cpus().length}x ${os.cpus()[0]?.model ?? 'cpu'}, onnxruntime-node ${ort.env.versions.node} (CPU)`;
}

async function fingerprint(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex').slice(0, 16);
}

export async function evaluateModel(engine: Engine, model: InstalledModel, opts: EvalOptions, log: (message: string) => void): Promise<Results> {
  const conditional = model.manifest.conditioning !== undefined;
  const parts: readonly Part[] = opts.only ?? PARTS.filter((p) => conditional || p !== 'guidance');
  if (parts.includes('guidance') && !conditional) {
    throw new Error(`${model.name} is not class-conditional (model.json has no conditioning block); run it without --only guidance`);
  }
  const dir = path.join(model.dir, 'eval');
  const data = await loadEvalData(dir, opts.threads);
  const samples = opts.samples ?? DEFAULT_SAMPLES[model.name] ?? 500;
  await mkdir(path.join(dir, 'samples'), { recursive: true });
  const resultsFile = path.join(dir, 'results.json');
  const prior = await readResults(resultsFile);
  const weights = await fingerprint(path.join(model.dir, model.manifest.onnx));
  const T = model.manifest.scheduler.num_train_timesteps;
  const fresh: Results = {
    model: model.name,
    weights,
    classes: data.classifier.classes,
    heldoutCount: data.heldout.shape[0]!,
    heldoutConfident: data.heldoutConfident,
  };

  if (parts.includes('rows')) {
    const { floor, floorCount } = frechetFloor(data, samples);
    log(`${model.name}: ${samples} samples per row; floor (${floorCount} reference vs ${fresh.heldoutCount} held-out) ${floor.toFixed(3)}`);
    const rowsOpts = { rows: opts.rows, samples, batch: opts.batch, seed: opts.seed, bootstrap: opts.bootstrap };
    const { rows, claims } = await samplerRows(engine, model, data, rowsOpts, log);
    Object.assign(fresh, { date: new Date().toISOString(), machine: machine(), floor, floorCount, samples, seed: opts.seed, bootstrapResamples: opts.bootstrap, rows, claims });
  }
  if (parts.includes('bound')) {
    fresh.bitsPerDim = await boundOnHeldout(engine, model, data.heldout, opts.vlbImages, log);
    log(`  bits/dim on ${opts.vlbImages} held-out images: ${fresh.bitsPerDim.mean.toFixed(3)} (L_T ${fresh.bitsPerDim.prior.toFixed(4)}, L_0 ${fresh.bitsPerDim.decoder.toFixed(3)})`);
  }
  if (parts.includes('guidance')) {
    const sweepOpts = { scales: opts.guidanceScales, samples, batch: opts.batch, seed: opts.seed, bootstrap: opts.bootstrap, timingRepeats: opts.timingRepeats };
    fresh.guidance = await guidanceSweep(engine, model, data, sweepOpts, machine(), log);
  }
  if (conditional) fresh.fdBaseline = await fdBaseline(prior, weights, T, opts.fdBaseline);

  if (prior && prior.weights !== weights && PARTS.some((p) => !parts.includes(p))) {
    log(`  ${resultsFile} was measured on other weights: parts not run now are left out (run the full eval to measure them)`);
  }
  const results = mergeResults(fresh, prior, { rows: parts.includes('rows'), bound: parts.includes('bound'), guidance: parts.includes('guidance') });
  await writeFile(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  // The model card shows one grid: DDPM with all its training steps when that row ran, else the last row.
  if (parts.includes('rows')) {
    const showcase = results.rows?.find((r) => r.sampler === 'ddpm' && r.steps === T) ?? results.rows?.at(-1);
    if (showcase) await copyFile(path.join(dir, showcase.grid), path.join(model.dir, 'samples.png'));
  }
  await writeFile(path.join(model.dir, 'EVAL.md'), evalMarkdown(results, { trainSteps: T, conditional }));
  return results;
}

/** DDPM eq. 5 on held-out images; a conditional model's network is asked unconditionally (its null label). */
async function boundOnHeldout(engine: Engine, model: InstalledModel, heldout: Tensor, count: number, log: (message: string) => void) {
  const { scheduler } = model.manifest;
  const betas = makeBetasFloat64(scheduler.beta_schedule, scheduler.num_train_timesteps, scheduler.beta_start, scheduler.beta_end);
  const per = heldout.data.length / heldout.shape[0]!;
  const x0 = { data: heldout.data.subarray(0, count * per), shape: [count, ...heldout.shape.slice(1)] };
  const variance = scheduler['variance_type'] === 'fixed_large' ? 'fixed_large' : 'fixed_small';
  const terms = await variationalBoundBpd(await engine.denoiser(model.name), betas, variance, x0, new TorchGenerator(0), (done, total) => {
    if (done % 100 === 0) log(`    bound: ${done}/${total} timesteps`);
  });
  const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
  return { images: count, mean: mean(terms.totalBpd), standardError: standardDeviation(terms.totalBpd) / Math.sqrt(count), prior: mean(terms.priorBpd), decoder: mean(terms.decoderBpd) };
}
