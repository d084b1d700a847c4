/** `/generate [model:..] [sampler:..] [steps:..] [seed:..] [count:..] [<sampler option>:..]` and `/generate help`. */
import type { App } from '@slack/bolt';
import type { SlackDeps } from '../context.ts';
import { parseGenerateText } from '../options.ts';
import { registerQueuedCommand } from './slash.ts';

export const GENERATE_COMMAND = '/generate';

export function registerGenerateCommand(app: App, deps: SlackDeps): void {
  registerQueuedCommand(app, deps, GENERATE_COMMAND, (text) => parseGenerateText(text, deps.catalog.samplers.list()), (input) => deps.service.submitGeneration(input));
}
