/**
 * `ddpm-bot compare`: one seed through several samplers side by side (src/engine/compare.ts plans the
 * runs and lays out the table), run here on the engine itself. A row is printed as each sampler
 * finishes, and each sampler writes its own PNG.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { comparisonTable, comparisonTitle, planComparison, type ComparisonRequest, type ComparisonRow } from '../engine/compare.ts';
import type { Engine } from '../engine/index.ts';
import { imagePng } from '../render/index.ts';
import { writeOutput } from './output.ts';
import { progressBar } from './progress.ts';

export interface CompareOptions extends ComparisonRequest {
  readonly outDir: string;
  readonly scale: number;
}

/** Samplers that ran but failed (e.g. a plugin that refuses the model's scheduler config); the others still ran. */
export class CompareError extends Error {}

export async function compareSamplers(engine: Engine, opts: CompareOptions, print: (line: string) => void): Promise<void> {
  const runs = planComparison((params) => engine.validate(params), engine.samplers.list().map((p) => p.name), opts);
  await mkdir(opts.outDir, { recursive: true });
  print(comparisonTitle(runs[0]!));
  const rows: ComparisonRow[] = runs.map((r) => ({ sampler: r.sampler, steps: r.steps, seconds: null }));
  const fileOf = (sampler: string) => path.join(opts.outDir, `${sampler}.png`);
  const lines = () => comparisonTable(rows, { title: 'image', cell: (r) => r.note ?? fileOf(r.sampler) });
  print(lines()[0]!);
  const failed: string[] = [];
  for (const [i, params] of runs.entries()) {
    try {
      const result = await engine.generate(params, progressBar(`${params.sampler} ${params.steps} steps`));
      const seconds = (result.samplingMs / 1000).toFixed(2);
      await writeOutput(fileOf(params.sampler), await imagePng(result.images), opts.scale, `${params.sampler}, ${params.steps} steps, seed ${params.seed}, ${seconds} s`);
      rows[i] = { ...rows[i]!, seconds: result.samplingMs / 1000 };
    } catch (error) {
      failed.push(params.sampler);
      rows[i] = { ...rows[i]!, note: `failed: ${error instanceof Error ? error.message : String(error)}` };
    }
    print(lines()[i + 1]!);
  }
  if (failed.length > 0) throw new CompareError(`${failed.join(', ')} failed (see the table); the other images were written`);
}
