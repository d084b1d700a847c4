// The chat commands the box understands and their typed options, parsed as Discord or Slack would.

import { optionNames } from './sampler-options.js';

const INT = /^\d+$/;
const NUM = /^-?\d+(\.\d+)?$/;
const COMMANDS = {
  '/generate': { model: 'string', label: 'string', guidance: 'number', sampler: 'string', steps: 'int', seed: 'int', count: 'int' },
  '/noise-demo': { model: 'string', seed: 'int', timesteps: 'intlist', denoise_from: 'int' },
  '/compare': { model: 'string', label: 'string', guidance: 'number', seed: 'int' },
  // Two seeds, or two labels at one seed (class-conditional models); the service checks which and the ranges.
  '/interpolate': { model: 'string', sampler: 'string', steps: 'int', seed_a: 'int', seed_b: 'int', frames: 'int', label: 'string', label_a: 'string', label_b: 'string', seed: 'int', guidance: 'number' },
  // The attached image to its x_T and back (DDIM inversion); no seed: nothing is random.
  '/invert': { model: 'string', sampler: 'string', steps: 'int', label: 'string', guidance: 'number' },
  '/help': {},
  // As in Discord: /info lists models and samplers, /history shows your past requests.
  '/info': {},
  '/history': {},
};

class CommandError extends Error {}

/**
 * "/generate steps:20 seed=42 k:0.5" -> { name: '/generate', args: { steps: 20, seed: 42, options: { k: '0.5' } } }
 * (k: an option of one of the installed `samplers`).
 */
export function parseCommand(text, samplers) {
  // A quoted value may hold spaces, as in Slack: label:"Food & Drink".
  const parts = (text.trim().match(/(?:[^\s"]+|"[^"]*")+/g) || []).map((p) => p.replace(/"/g, ''));
  const name = (parts.shift() || '').toLowerCase().replace('/noise_demo', '/noise-demo');
  if (!name) throw new CommandError('Type a command, e.g. /generate seed:42');
  const spec = COMMANDS[name];
  if (!spec) throw new CommandError(`Unknown command "${name}". Try /generate, /noise-demo, /interpolate, /invert, /compare, /history or /help.`);
  const args = {};
  for (const part of parts) {
    const m = /^([a-z_-]+)[:=](.*)$/i.exec(part);
    if (!m) throw new CommandError(`"${part}" is not an option; write key:value, e.g. steps:50`);
    const key = m[1].toLowerCase().replace('-', '_');
    const value = m[2];
    // A sampler's own option (any installed sampler's): typed later, by the chosen sampler's declaration.
    if (name === '/generate' && !spec[key] && optionNames(samplers).has(key)) {
      if (value === '') throw new CommandError(`${key} needs a value`);
      args.options = { ...args.options, [key]: value };
      continue;
    }
    const type = spec[key];
    if (!type) throw new CommandError(`${name} has no option "${key}"; it takes ${Object.keys(spec).join(', ') || 'no options'}`);
    if (value === '') throw new CommandError(`${key} needs a value`);
    if (type === 'int') {
      if (!INT.test(value)) throw new CommandError(`${key} must be a whole number (got "${value}")`);
      args[key] = Number(value);
    } else if (type === 'number') {
      if (!NUM.test(value)) throw new CommandError(`${key} must be a number (got "${value}")`);
      args[key] = Number(value);
    } else if (type === 'intlist') {
      const list = value.split(',');
      if (!list.every((v) => INT.test(v))) throw new CommandError(`${key} must be comma-separated whole numbers, e.g. 0,100,500,999`);
      args[key] = list.map(Number);
    } else args[key] = value;
  }
  return { name, args };
}
