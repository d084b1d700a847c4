/**
 * `npm run discord:register` against the fake Discord: the commands, their choices from the
 * installed models and sampler plugins, and Discord's option limits.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../../src/engine/index.ts';
import { loadDiscordEnv } from '../../../src/adapters/discord/config.ts';
import { commandDefinitions, registerCommands } from '../../../src/adapters/discord/register.ts';
import { FakeDiscord } from '../../fakes/discord/server.ts';

const run = promisify(execFile);
let fake: FakeDiscord;
let engine: Engine;

type Option = { name: string; type: number; description?: string; min_value?: number; max_value?: number; max_length?: number; autocomplete?: boolean; choices?: { value: string }[] };
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
    expect(stdout).toContain(`registered /generate, /interpolate, /invert, /noise-demo, /compare, /history, /info guild ${fake.guildId}`);
    const commands = fake.registeredCommands.get(fake.guildId) as Command[];
    expect(commands.map((c) => c.name)).toEqual(['generate', 'interpolate', 'invert', 'noise-demo', 'compare', 'history', 'info']);
    const generate = commands[0]!.options!;
    const option = (name: string) => generate.find((o) => o.name === name)!;
    expect(option('model').choices!.map((c) => c.value)).toEqual(['tiny']);
    expect(option('sampler').choices!.map((c) => c.value)).toEqual(engine.samplers.list().map((p) => p.name));
    expect(option('steps')).toMatchObject({ min_value: 1, max_value: 1000 });
    expect(option('seed')).toMatchObject({ type: 4, min_value: 0, max_value: 2 ** 32 - 1 });
    // Each sampler's declared options, typed, with their bounds and the samplers that take them.
    expect(option('eta')).toMatchObject({ type: 10, min_value: 0, max_value: 1, description: expect.stringMatching(/^ddim: /) });
    expect(option('use_clipped_model_output')).toMatchObject({ type: 5 });
    expect(option('ancestral')).toMatchObject({ type: 5, description: expect.stringMatching(/^euler: /) });
    expect(option('corrector_steps')).toMatchObject({ type: 4, min_value: 0, max_value: 10 });
    expect(option('snr')).toMatchObject({ type: 10, min_value: 0, max_value: 1 });
    expect(option('predictor').choices!.map((c) => c.value)).toEqual(['reverse_diffusion', 'euler_maruyama']);
    expect(generate.every((o) => !('required' in o) || !o.required)).toBe(true);
    expect(option('count')).toMatchObject({ min_value: 1, max_value: 4 });
    // No installed model takes a label, so neither option is offered.
    expect(generate.map((o) => o.name)).not.toContain('label');
    expect(generate.map((o) => o.name)).not.toContain('guidance');
    const noise = commands.find((c) => c.name === 'noise-demo')!.options!;
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

  it("refuses at registration, with a clear error, plugins whose options would exceed Discord's 25 per command", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ddpm-plugins-'));
    try {
      await writeFile(path.join(dir, 'package.json'), '{"type": "module"}');
      const ddim = JSON.stringify(path.resolve('plugins/ddim/index.ts'));
      const zod = JSON.stringify(pathToFileURL(path.resolve('node_modules/zod/index.js')).href);
      const fields = Array.from({ length: 21 }, (_, i) => `k${i}: z.number().optional().describe('knob ${i}')`).join(', ');
      await mkdir(path.join(dir, 'knobs'));
      await writeFile(path.join(dir, 'knobs', 'index.ts'), `import ddim from ${ddim};\nimport { z } from ${zod};\nexport default { ...ddim, name: 'knobs', options: z.object({ ${fields} }).strict() };\n`);
      const crowded = await Engine.load({ modelsDir: 'test/fixtures', pluginsDir: dir });
      try {
        // The folder's only plugin declares 21 knobs; /generate has 5 options of its own (no conditional model).
        expect(() => commandDefinitions(crowded)).toThrow(/^\/generate would have 26 options but Discord allows 25: the sampler plugins declare 21 \(k0, k1, .*, k20\) beside 5 of its own; remove a plugin/);
      } finally {
        await crowded.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('registers globally without DISCORD_GUILD_ID', async () => {
    const env = loadDiscordEnv({ DISCORD_TOKEN: fake.botToken, DISCORD_APPLICATION_ID: fake.applicationId, DISCORD_API_BASE: fake.apiBase });
    const stored = await registerCommands(env, engine);
    expect(stored).toHaveLength(7);
    expect(fake.registeredCommands.get('global')).toHaveLength(7);
  });
});
