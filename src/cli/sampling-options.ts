/** What `vary` and `interpolate` share: the generation options in `generate`'s words, and how given values layer. */
import { Option, type Command } from 'commander';
import { MAX_GUIDANCE } from '../engine/conditioning.ts';
import { decimal, integer, modelsDirOption, scaleOption } from './common.ts';

export interface SamplingOptions {
  model?: string;
  modelsDir?: string;
  sampler?: string;
  steps?: number;
  label?: string;
  guidance?: number;
  scale: number;
}

/** The generation options vary and interpolate share, in `generate`'s words. */
export function samplingOptions(command: Command, defaultSampler: string | undefined): Command {
  return command
    .option('-m, --model <name|dir>', 'installed model name or a model folder (default: the default model)')
    .addOption(new Option('-s, --sampler <name>', 'sampler plugin (see `ddpm-bot samplers`)').default(defaultSampler))
    .option('-n, --steps <n>', "inference steps (default: the sampler's)", integer('--steps', 1, 100_000))
    .option('--guidance <s>', `classifier-free guidance scale 0..${MAX_GUIDANCE} with a label (default: the model's)`, decimal('--guidance'))
    .addOption(scaleOption())
    .addOption(modelsDirOption());
}

/** The entries whose value is given: an option left out takes the default of the layer below. */
export function definedOnly(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}

