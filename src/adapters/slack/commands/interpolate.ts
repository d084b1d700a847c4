/**
 * `/interpolate seed_a:.. seed_b:.. [frames:..] [model:..] [sampler:..] [steps:..] [label:..]`, or
 * `label_a:.. label_b:.. [seed:..]` for class-conditional models: the strip of frames and their GIF.
 */
import type { App } from '@slack/bolt';
import type { SlackDeps } from '../context.ts';
import { parseInterpolateText } from '../options.ts';
import { registerQueuedCommand } from './slash.ts';

export const INTERPOLATE_COMMAND = '/interpolate';

export function registerInterpolateCommand(app: App, deps: SlackDeps): void {
  registerQueuedCommand(app, deps, INTERPOLATE_COMMAND, parseInterpolateText, (input) => deps.service.submitInterpolation(input));
}
