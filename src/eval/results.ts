/**
 * eval/results.json: what `npm run eval` measured, read by EVAL.md and models/train/model_card.py.
 *
 * A run may measure only some parts (`--only guidance` for a quick sweep); the parts it skips are kept
 * from the previous results.json, but only when that was measured on the same weights (the same
 * model.onnx), so a table never mixes two models without saying so.
 */
import { readFile } from 'node:fs/promises';
import type { GuidanceSweep } from './guidance.ts';
import type { Claim, Row } from './rows.ts';

/** Today's DDPM row (all training steps) that the conditional model's Frechet distance must not be worse than. */
export interface FdBaseline {
  source: string;
  date: string;
  sampler: string;
  steps: number;
  samples: number;
  frechet: number;
  frechetBootstrapSd: number;
}

export interface RowsPart {
  date: string;
  machine: string;
  floor: number;
  floorCount: number;
  samples: number;
  seed: number;
  bootstrapResamples: number;
  rows: Row[];
  claims: Claim[];
}

export interface Results extends Partial<RowsPart> {
  model: string;
  /** sha256 of model.onnx (first 16 hex digits): which weights were measured. */
  weights?: string;
  classes: string[];
  heldoutCount: number;
  heldoutConfident: number;
  bitsPerDim?: { images: number; mean: number; standardError: number; prior: number; decoder: number };
  guidance?: GuidanceSweep;
  fdBaseline?: FdBaseline | null;
}

const ROWS_FIELDS = ['date', 'machine', 'floor', 'floorCount', 'samples', 'seed', 'bootstrapResamples', 'rows', 'claims'] as const;

export async function readResults(file: string): Promise<Results | null> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  return text === null ? null : (JSON.parse(text) as Results);
}

/** This run's parts, with the previous run's other parts when they were measured on the same weights. */
export function mergeResults(fresh: Results, prior: Results | null, ran: { rows: boolean; bound: boolean; guidance: boolean }): Results {
  const same = prior && prior.weights === fresh.weights ? prior : null;
  const merged: Results = { ...fresh };
  if (!ran.rows && same) for (const field of ROWS_FIELDS) Object.assign(merged, { [field]: same[field] });
  if (!ran.bound && same?.bitsPerDim) merged.bitsPerDim = same.bitsPerDim;
  if (!ran.guidance && same?.guidance) merged.guidance = same.guidance;
  return merged;
}

/** The DDPM row with all training steps of a results file, as the Frechet-distance baseline. */
function ddpmRow(results: Results, trainSteps: number, source: string): FdBaseline | null {
  const row = results.rows?.find((r) => r.sampler === 'ddpm' && r.steps === trainSteps);
  if (!row || !results.date) return null;
  const { sampler, steps, samples, frechet, frechetBootstrapSd } = row;
  return { source, date: results.date, sampler, steps, samples, frechet, frechetBootstrapSd };
}

/**
 * The baseline of the "Frechet distance no worse than today's DDPM-1000": from `file` when
 * given; else the one recorded before, kept across re-exports; else, the first time a model is
 * measured as class-conditional, the DDPM row of the results it replaces (measured on other weights).
 */
export async function fdBaseline(prior: Results | null, weights: string, trainSteps: number, file?: string): Promise<FdBaseline | null> {
  if (file) {
    const results = await readResults(file);
    if (!results) throw new Error(`--fd-baseline ${file}: no such file`);
    const row = ddpmRow(results, trainSteps, file);
    if (!row) throw new Error(`--fd-baseline ${file}: it has no DDPM ${trainSteps} row (and date) to compare the Frechet distance with`);
    return row;
  }
  if (prior?.fdBaseline) return prior.fdBaseline;
  if (prior && !prior.guidance && prior.weights !== weights) {
    return ddpmRow(prior, trainSteps, `eval/results.json of ${prior.date?.slice(0, 10) ?? 'unknown date'}, before the model was class-conditional`);
  }
  return null;
}
