/**
 * `ddpm-bot compare`: one seed through several samplers side by side, the seed's table (DDPM, DDIM, the
 * score-based samplers...) with the steps and the time each took. Every sampler is validated before the
 * first one runs, so a bad name or step count is answered at once rather than after minutes of sampling;
 * a row is printed as each sampler finishes, and each sampler writes its own PNG.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Engine, GenerationParams } from '../engine/index.ts';
import { imagePng } from '../render/index.ts';
import { writeOutput } from './output.ts';
import { progressBar } from './progress.ts';

export interface CompareOptions {
  readonly model?: string | undefined;
  /** Default: every installed sampler. */
  readonly samplers?: readonly string[] | undefined;
  /** One step count for every sampler; default: each sampler's own. */
  readonly steps?: number | undefined;
  readonly label?: string | undefined;
  readonly guidance?: number | undefined;
  readonly seed?: number | undefined;
  readonly outDir: string;
  readonly scale: number;
}

/** Samplers that ran but failed (e.g. a plugin that refuses the model's scheduler config); the others still ran. */
export class CompareError extends Error {}

function plannedRuns(engine: Engine, opts: CompareOptions): GenerationParams[] {
  const names = opts.samplers ?? engine.samplers.list().map((p) => p.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) throw new CompareError(`--samplers lists ${twice} twice`);
  const common = { model: opts.model, steps: opts.steps, label: opts.label, guidance: opts.guidance, count: 1 };
  // The first validation draws the seed when none is given; every sampler then starts from the same x_T.
  const first = engine.validate({ ...common, sampler: names[0], seed: opts.seed });
  return names.map((sampler) => engine.validate({ ...common, sampler, seed: first.seed }));
}

export async function compareSamplers(engine: Engine, opts: CompareOptions, print: (line: string) => void): Promise<void> {
  const runs = plannedRuns(engine, opts);
  const head = runs[0];
  if (!head) throw new CompareError('no samplers are installed');
  await mkdir(opts.outDir, { recursive: true });
  const conditioning = head.label === null ? '' : `, label ${head.label}, guidance ${head.guidance}`;
  print(`seed ${head.seed}, ${head.model}${conditioning}`);
  const width = Math.max('sampler'.length, ...runs.map((r) => r.sampler.length));
  const row = (sampler: string, steps: string, seconds: string, image: string) =>
    `${sampler.padEnd(width)}  ${steps.padStart(5)}  ${seconds.padStart(7)}  ${image}`;
  print(row('sampler', 'steps', 'seconds', 'image'));
  const failed: string[] = [];
  for (const params of runs) {
    const file = path.join(opts.outDir, `${params.sampler}.png`);
    try {
      const result = await engine.generate(params, progressBar(`${params.sampler} ${params.steps} steps`));
      const seconds = (result.samplingMs / 1000).toFixed(2);
      await writeOutput(file, await imagePng(result.images), opts.scale, `${params.sampler}, ${params.steps} steps, seed ${params.seed}, ${seconds} s`);
      print(row(params.sampler, String(params.steps), seconds, file));
    } catch (error) {
      failed.push(params.sampler);
      print(row(params.sampler, String(params.steps), '-', `failed: ${error instanceof Error ? error.message : String(error)}`));
    }
  }
  if (failed.length > 0) throw new CompareError(`${failed.join(', ')} failed (see the table); the other images were written`);
}
