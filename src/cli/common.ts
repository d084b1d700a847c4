/** What the CLI's commands share: option parsers, the engine they open, model lookup. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import { Engine } from '../engine/index.ts';
import type { ExecutionProvider } from '../model/session.ts';
import { stderrLogger } from './log.ts';

/** A 16-image MNIST grid at 16x is 2368x3392 px: larger is never useful and costs memory. */
export const MAX_SCALE = 16;

export class UsageError extends Error {}

export function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
    }
    return n;
  };
}

export function decimal(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number`);
    return n;
  };
}

function engineOptions(): { executionProvider?: ExecutionProvider; threads?: number; pluginsDir?: string } {
  const provider = process.env['DDPM_EXECUTION_PROVIDER'];
  if (provider !== undefined && provider !== 'cpu' && provider !== 'cuda' && provider !== 'webgpu') {
    throw new UsageError(`DDPM_EXECUTION_PROVIDER must be cuda, webgpu or cpu (got "${provider}")`);
  }
  const threads = process.env['DDPM_THREADS'];
  if (threads !== undefined && !/^\d+$/.test(threads)) throw new UsageError(`DDPM_THREADS must be a whole number (got "${threads}")`);
  const pluginsDir = process.env['PLUGINS_DIR'];
  return {
    ...(provider ? { executionProvider: provider } : {}),
    ...(threads ? { threads: Number(threads) } : {}),
    ...(pluginsDir ? { pluginsDir } : {}),
  };
}

export async function openEngine(modelsDir: string | undefined): Promise<Engine> {
  return Engine.load({
    ...engineOptions(),
    ...(modelsDir ? { modelsDir } : {}),
    logger: stderrLogger,
  });
}

/** `--model` takes an installed model's name or a path to a model folder. */
export async function resolveModel(engine: Engine, value: string | undefined): Promise<string | undefined> {
  if (value === undefined) return undefined;
  if (engine.models.find(value)) return value;
  if (existsSync(path.join(value, 'model.json'))) return (await engine.models.addFolder(value)).name;
  return value;
}


/** Every image file a command writes is enlarged by the same factor. */
export function scaleOption(): Option {
  return new Option('--scale <n>', `enlarge every file written n times, nearest neighbour (1..${MAX_SCALE})`).argParser(integer('--scale', 1, MAX_SCALE)).default(1);
}

export function modelsDirOption(): Option {
  return new Option('--models-dir <dir>', 'folder of installed models (default: ./models)');
}

