/** Every slash command of the bot; registration and dispatch both read this list. */
import type { SlashCommand } from '../context.ts';
import { compareCommand } from './compare.ts';
import { generateCommand } from './generate.ts';
import { historyCommand } from './history.ts';
import { infoCommand } from './info.ts';
import { interpolateCommand } from './interpolate.ts';
import { invertCommand } from './invert.ts';
import { noiseDemoCommand } from './noise-demo.ts';

export const SLASH_COMMANDS: readonly SlashCommand[] = [generateCommand, interpolateCommand, invertCommand, noiseDemoCommand, compareCommand, historyCommand, infoCommand];

export const COMMANDS_BY_NAME: ReadonlyMap<string, SlashCommand> = new Map(SLASH_COMMANDS.map((c) => [c.name, c]));
