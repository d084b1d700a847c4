/** The CLI's progress bar on stderr (only on a terminal: redirected output stays clean). */
import type { StepProgress } from '../engine/index.ts';

/**
 * t as a user reads it: samplers on a continuous schedule (Euler's linspace spacing, Karras sigmas) visit
 * fractional timesteps such as 978.9189453125, which say nothing more at one decimal.
 */
export function timestepText(t: number): string {
  return Number.isInteger(t) ? String(t) : t.toFixed(1);
}

export function progressBar(label: string): ((p: StepProgress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (p) => {
    const width = 30;
    const filled = Math.round((p.step / p.totalSteps) * width);
    process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${p.step}/${p.totalSteps} t=${timestepText(p.timestep)}   `);
    if (p.step === p.totalSteps) process.stderr.write('\n');
  };
}
