/**
 * `npm run discord:register` against the fake Discord: the commands, their choices from the
 * installed models and sampler plugins, and Discord's option limits.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../../src/engine/index.ts';
import { loadDiscordEnv } from '../../../src/adapters/discord/config.ts';
import { commandDefinitions, registerCommands } from '../../../src/adapters/discord/register.ts';
import { FakeDiscord } from '../../fakes/discord/server.ts';

const run = promisify(execFile);
let fake: FakeDiscord;
let engine: Engine;

type Option = { name: string; type: number; min_value?: number; max_value?: number; max_length?: number; autocomplete?: boolean; choices?: { value: string }[] };
type Command = { name: string; options?: Option[] };

beforeAll(async () => {
  [fake, engine] = await Promise.all([FakeDiscord.start(), Engine.load({ modelsDir: 'test/fixtures' })]);
});

afterAll(async () => {
  await engine?.close();
  await fake?.close();
});

describe('discord:register', () => {
  it('the npm script registers every command in the development guild', async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'discord:register'], {
      env: {
        ...process.env,
        DISCORD_TOKEN: fake.botToken,
        DISCORD_APPLICATION_ID: fake.applicationId,
        DISCORD_GUILD_ID: fake.guildId,
        DISCORD_API_BASE: fake.apiBase,
        MODELS_DIR: 'test/fixtures',
      },
    });
    expect(stdout).toContain(`registered /generate, /noise-demo, /history, /info guild ${fake.guildId}`);
    const commands = fake.registeredCommands.get(fake.guildId) as Command[];
    expect(commands.map((c) => c.name)).toEqual(['generate', 'noise-demo', 'history', 'info']);
    const generate = commands[0]!.options!;
    const option = (name: string) => generate.find((o) => o.name === name)!;
    expect(option('model').choices!.map((c) => c.value)).toEqual(['tiny']);
    expect(option('sampler').choices!.map((c) => c.value)).toEqual(engine.samplers.list().map((p) => p.name));
    expect(option('steps')).toMatchObject({ min_value: 1, max_value: 1000 });
    expect(option('seed')).toMatchObject({ type: 4, min_value: 0, max_value: 2 ** 32 - 1 });
    expect(option('eta')).toMatchObject({ type: 10, min_value: 0, max_value: 1 });
    expect(option('count')).toMatchObject({ min_value: 1, max_value: 4 });
    // No installed model takes a label, so neither option is offered.
    expect(generate.map((o) => o.name)).not.toContain('label');
    expect(generate.map((o) => o.name)).not.toContain('guidance');
    const noise = commands[1]!.options!;
    expect(noise.find((o) => o.name === 'image')?.type).toBe(11);
  });

  it('with a class-conditional model installed, /generate takes an autocompleted label and a guidance scale', async () => {
    const withLabels = await Engine.load({ modelsDir: 'test/fixtures/conditional' });
    try {
      const generate = (commandDefinitions(withLabels)[0]!.options ?? []) as Option[];
      // Discord allows 25 options per command; choices are left to autocomplete (a model may have 1,000 classes).
      expect(generate.length).toBeLessThanOrEqual(25);
      expect(generate.find((o) => o.name === 'label')).toMatchObject({ type: 3, autocomplete: true, max_length: 100 });
      expect(generate.find((o) => o.name === 'label')?.choices).toBeUndefined();
      expect(generate.find((o) => o.name === 'guidance')).toMatchObject({ type: 10, min_value: 0, max_value: 20 });
      expect(generate.some((o) => 'required' in o && o.required)).toBe(false);
    } finally {
      await withLabels.close();
    }
  });

  it('registers globally without DISCORD_GUILD_ID', async () => {
    const env = loadDiscordEnv({ DISCORD_TOKEN: fake.botToken, DISCORD_APPLICATION_ID: fake.applicationId, DISCORD_API_BASE: fake.apiBase });
    const stored = await registerCommands(env, engine);
    expect(stored).toHaveLength(4);
    expect(fake.registeredCommands.get('global')).toHaveLength(4);
  });
});
