/**
 * `npm run eval`: the analogue of the DDIM paper's Table 1 for each installed model with an eval/ folder.
 *
 * Rows: DDPM and DDIM (eta = 0) at 10, 20, 50, 100 and 1000 steps, DPM-Solver++ at 10 and 20, Euler at 20
 * and 50, and the score-based SDE sampler (predictor-corrector, 2 model calls per step) at 100; its paper's
 * PC1000 setting is `--rows score-sde:1000` (2000 model calls per image, twice DDPM-1000's). Columns:
 * the Frechet distance between classifier features of generated and held-out real images (FID-style;
 * the distance between a real reference set and the held-out set is the floor), for MNIST the share of
 * samples classified with p >= 0.9 and the class histogram, and seconds per image. Also the variational
 * bound in bits/dim on held-out images (DDPM eq. 5). A class-conditional model also gets the guidance
 * sweep (src/eval/guidance.ts): accuracy on the requested class, recognisable share, Frechet distance
 * and seconds per image at DDIM-50 per guidance scale, the cost of guidance, and a grid per class.
 * Writes models/<name>/EVAL.md, eval/results.json and the grids under eval/samples/.
 *
 * At a few hundred samples the Frechet distance moves a lot with the seeds drawn, so every distance
 * comes with its bootstrap spread, and the papers' claims (DDIM-50 vs DDPM-1000, DPM-Solver++-20 vs
 * DDIM-50) with a paired-bootstrap interval of the ratio: a claim is only decided when the interval
 * lies on one side of the limit.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Engine } from '../engine/index.ts';
import { DEFAULT_MODELS_DIR } from '../model/registry.ts';
import type { EvalOptions } from './evaluate.ts';
import { PARTS, evaluateModel } from './evaluate.ts';

const DEFAULT_ROWS =
  'ddpm:10,ddpm:20,ddpm:50,ddpm:100,ddpm:1000,ddim:10,ddim:20,ddim:50,ddim:100,ddim:1000,dpm-solver:10,dpm-solver:20,euler:20,euler:50,score-sde:100';
const DEFAULT_SCALES = '0,1,2,3,5';

function log(message: string): void {
  process.stderr.write(`${message}\n`);
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

function parseScales(value: string): number[] {
  return value.split(',').map((part) => {
    const s = Number(part);
    if (part.trim() === '' || !Number.isFinite(s) || s < 0 || s > 20) throw new InvalidArgumentError(`guidance scales are numbers 0..20 separated by commas, got "${part}"`);
    return s;
  });
}

const program = new Command('npm run eval --')
  .description('Evaluate installed models: Frechet distance, classifier confidence, bits/dim, guidance sweep; writes models/<name>/EVAL.md')
  .option('-m, --model <name...>', 'models to evaluate (default: every model with an eval/ folder)')
  .option('--models-dir <dir>', 'folder of model folders to evaluate (results are written there)', DEFAULT_MODELS_DIR)
  .addOption(new Option('--only <part...>', 'measure only these parts; the others are kept from eval/results.json when it was measured on the same weights').choices(PARTS))
  .option('-n, --samples <n>', 'samples per row (default: 1000 for mnist, 500 for emoji)', positiveInt)
  .option('--batch <n>', 'images per ONNX batch', positiveInt, 50)
  .option('--seed <s>', 'seed of sample 0; sample i uses seed + i', nonNegativeInt, 0)
  .option('--bootstrap <n>', 'bootstrap resamples for the spread of each Frechet distance and the claims\' intervals', positiveInt, 200)
  .option('--vlb-images <n>', 'held-out images for the bits/dim bound (1000 model calls each)', positiveInt, 100)
  .addOption(new Option('--rows <list>', 'sampler:steps rows').argParser(parseRows).default(parseRows(DEFAULT_ROWS), DEFAULT_ROWS))
  .addOption(new Option('--guidance-scales <list>', 'class-conditional models: guidance scales of the sweep (the model\'s default is added)').argParser(parseScales).default(parseScales(DEFAULT_SCALES), DEFAULT_SCALES))
  .option('--timing-repeats <n>', 'class-conditional models: repeats of the with/without guidance timing at --batch (0 skips it)', nonNegativeInt, 3)
  .option('--fd-baseline <results.json>', 'class-conditional models: results whose DDPM row (all training steps) is the Frechet-distance baseline (default: the one recorded in eval/results.json)')
  .option('--threads <n>', 'onnxruntime intra-op threads (default 0: one per core); 1 when evaluating models side by side', nonNegativeInt, 0)
  .action(async (opts: EvalOptions & { model?: string[]; modelsDir: string }) => {
    const engine = await Engine.load({ modelsDir: path.resolve(opts.modelsDir), threads: opts.threads });
    try {
      const models = engine.models.list().filter((m) => (opts.model ? opts.model.includes(m.name) : true));
      const missing = opts.model?.filter((name) => !models.some((m) => m.name === name)) ?? [];
      if (missing.length) throw new Error(`no model ${missing.join(', ')} in ${opts.modelsDir}; installed: ${engine.models.list().map((m) => m.name).join(', ')}`);
      for (const model of models) {
        const hasEval = await access(path.join(model.dir, 'eval', 'sets.json')).then(() => true, () => false);
        const skipUnconditional = opts.only?.includes('guidance') && !model.manifest.conditioning && !opts.model;
        if (!hasEval) {
          if (opts.model) throw new Error(`${model.name} has no eval/sets.json (run models/train/export_eval_sets.py)`);
        } else if (skipUnconditional) log(`${model.name}: not class-conditional, no guidance to sweep; skipped`);
        else await evaluateModel(engine, model, opts, log);
      }
    } finally {
      await engine.close();
    }
  });

await program.parseAsync();
