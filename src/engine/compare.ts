/**
 * One seed through several samplers side by side (the seed's table: DDPM, DDIM, the score-based
 * samplers...): which runs, and the table of what each took. Shared by `ddpm-bot compare` (which runs
 * the engine itself) and the chat `/compare` commands (which queue each run through the service).
 */
import { ValidationError } from './errors.ts';
import type { GenerationParams } from './types.ts';

export interface ComparisonRequest {
  readonly model?: string | undefined;
  /** Default: every installed sampler. */
  readonly samplers?: readonly string[] | undefined;
  /** One step count for every sampler; default: each sampler's own. */
  readonly steps?: number | undefined;
  readonly label?: string | undefined;
  readonly guidance?: number | undefined;
  readonly seed?: number | undefined;
}

/**
 * Every sampler's parameters, all validated before the first runs (a bad name or step count is
 * answered at once, not after minutes of sampling), with one seed: every sampler starts from the same x_T.
 * `check` is the one validation (the engine's, or the service's checkGeneration).
 */
export function planComparison(check: (params: unknown) => GenerationParams, installed: readonly string[], request: ComparisonRequest): GenerationParams[] {
  const names = request.samplers ?? installed;
  if (names.length === 0) throw new ValidationError('samplers', 'no samplers are installed');
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) throw new ValidationError('samplers', `samplers lists ${twice} twice`);
  const common = { model: request.model, steps: request.steps, label: request.label, guidance: request.guidance, count: 1 };
  // The first validation draws the seed when none is given.
  const first = check({ ...common, sampler: names[0], seed: request.seed });
  return names.map((sampler) => check({ ...common, sampler, seed: first.seed }));
}

/** What the comparison's header says: the seed and what every run shares. */
export function comparisonTitle(head: GenerationParams): string {
  const conditioning = head.label === null ? '' : `, label ${head.label}, guidance ${head.guidance}`;
  return `seed ${head.seed}, ${head.model}${conditioning}`;
}

/** One row of the table; `seconds` is null until the run has finished, `note` e.g. a failure. */
export interface ComparisonRow {
  readonly sampler: string;
  readonly steps: number;
  readonly seconds: number | null;
  readonly note?: string;
}

/**
 * The table's lines, aligned plain text (sampler, steps, seconds, then an extra column or the row's
 * note), for a terminal or a chat code block. The header is line 0, row i is line i + 1; widths depend
 * only on the sampler names, so a row printed when it finishes lines up with the others.
 */
export function comparisonTable(rows: readonly ComparisonRow[], extra?: { readonly title: string; readonly cell: (row: ComparisonRow) => string }): string[] {
  const width = Math.max('sampler'.length, ...rows.map((r) => r.sampler.length));
  const line = (sampler: string, steps: string, seconds: string, more: string) =>
    `${sampler.padEnd(width)}  ${steps.padStart(5)}  ${seconds.padStart(7)}${more ? `  ${more}` : ''}`;
  return [
    line('sampler', 'steps', 'seconds', extra?.title ?? ''),
    ...rows.map((r) => line(r.sampler, String(r.steps), r.seconds === null ? '-' : r.seconds.toFixed(2), extra ? extra.cell(r) : (r.note ?? ''))),
  ];
}
