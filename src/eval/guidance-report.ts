/** The guidance-sweep section of EVAL.md: the trade-off table, accuracy per class, the cost of guidance, the grids. */
import type { GuidanceSweep, GuidanceTiming, SweepRow } from './guidance.ts';
import type { FdBaseline } from './results.ts';

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
const share = (p: number | null, se: number | null) => (p === null ? '-' : `${pct(p)} ± ${((se ?? NaN) * 100).toFixed(1)}`);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function perClassCount(row: SweepRow | undefined): string {
  const n = row?.classSamples ?? [0];
  return Math.min(...n) === Math.max(...n) ? String(n[0]) : `${Math.min(...n)}-${Math.max(...n)}`;
}

function scaleName(row: SweepRow, defaultScale: number): string {
  if (row.guidance === null) return 'none (unconditional)';
  return row.guidance === defaultScale ? `**${row.guidance} (default)**` : String(row.guidance);
}

function timingMarkdown(t: GuidanceTiming): string[] {
  const ratios = t.guided.map((g, i) => g / t.doubled[i]!);
  const range = (v: readonly number[], digits = 3) => `${Math.min(...v).toFixed(digits)}-${Math.max(...v).toFixed(digits)}`;
  return [
    '### Cost of guidance',
    '',
    `DDIM-50 seconds per image at batch ${t.batch}, ${t.guided.length} interleaved repeat(s), median (range). Unguided: one network row per image (guidance 1). Guided (scale ${t.guidance}): conditional and unconditional rows in one forward pass. One doubled batch: ${2 * t.batch} unguided images in one ONNX batch, its time per ${t.batch} images (the issue's bound for guided images).`,
    '',
    '| unguided | guided | one doubled batch | guided / unguided | guided / doubled batch |',
    '|---|---|---|---|---|',
    `| ${median(t.unguided).toFixed(3)} (${range(t.unguided)}) | ${median(t.guided).toFixed(3)} (${range(t.guided)}) | ${median(t.doubled).toFixed(3)} (${range(t.doubled)}) | ${(median(t.guided) / median(t.unguided)).toFixed(2)}x | ${median(ratios).toFixed(2)}x (${range(ratios, 2)}) |`,
    '',
  ];
}

export function guidanceMarkdown(g: GuidanceSweep, baseline: FdBaseline | null, heldoutCount: number): string[] {
  const classNames = g.classes.map((c) => `"${c}"`);
  const labelled = g.rows.filter((r) => r.guidance !== null);
  return [
    '## Class-conditional: guidance sweep',
    '',
    `DDIM (eta=0) ${g.steps} steps, measured on ${g.date.slice(0, 10)} (${g.machine}); ${g.samples} samples per row: sample i asks for class i mod ${g.classes.length} (${classNames.join(', ')}) with seed ${g.seed} + i, so every class gets the same share. The model's default guidance scale is **${g.defaultScale}**.`,
    `**Accuracy**: share of samples the classifier reads as the requested class (argmax); **recognisable**: share it assigns some class with p >= 0.9; each ± its binomial standard error. The same classifier on the ${heldoutCount} real held-out images: accuracy **${pct(g.heldoutAccuracy)}**, recognisable **${pct(g.heldoutConfident)}**. **Frechet distance** between the classifier's features of the samples and of the held-out images (floor for ${g.floorCount} real images: ${g.floor.toFixed(3)}), ± its spread over ${g.bootstrapResamples} bootstrap resamples.`,
    '',
    '| guidance | accuracy | recognisable | Frechet distance | s / image |',
    '|---|---|---|---|---|',
    ...g.rows.map(
      (r) => `| ${scaleName(r, g.defaultScale)} | ${share(r.accuracy, r.accuracySe)} | ${share(r.confident, r.confidentSe)} | ${r.frechet.toFixed(3)} ± ${r.frechetBootstrapSd.toFixed(3)} | ${r.secondsPerImage.toFixed(3)} |`,
    ),
    '',
    baseline
      ? `Baseline of the target "Frechet distance no worse than today's ${baseline.sampler.toUpperCase()}-${baseline.steps}": ${baseline.frechet.toFixed(3)} ± ${baseline.frechetBootstrapSd.toFixed(3)} (${baseline.samples} samples; ${baseline.source}).`
      : 'No Frechet-distance baseline is recorded (pass --fd-baseline <results.json> with the DDPM row to compare with).',
    '',
    '### Accuracy per class',
    '',
    `Share of the samples asking for a class that the classifier reads as it, per guidance scale (${perClassCount(labelled[0])} samples per class and scale), beside the classifier's accuracy on that class's real held-out images.`,
    '',
    `| class | real held-out | ${labelled.map((r) => `guidance ${r.guidance}`).join(' | ')} |`,
    `|---|---|${labelled.map(() => '---|').join('')}`,
    ...g.classes.map(
      (name, c) => `| ${name} | ${pct(g.heldoutClassAccuracy[c]!)} | ${labelled.map((r) => pct(r.classCorrect![c]! / r.classSamples![c]!)).join(' | ')} |`,
    ),
    '',
    ...(g.timing ? timingMarkdown(g.timing) : []),
    `### Samples per class at the default guidance (${g.defaultScale})`,
    '',
    `16 samples per class, class c's being samples c, c + ${g.classes.length}, c + ${2 * g.classes.length}, ... of the sweep (seed ${g.seed} + i).`,
    '',
    ...g.grids.flatMap((grid) => [`**${grid.class}**`, '', `![${grid.class}](eval/${grid.file})`, '']),
  ];
}
