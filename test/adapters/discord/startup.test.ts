/** Starting the adapter with a bad configuration fails at once, naming what is wrong. */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordAdapter } from '../../../src/adapters/discord/index.ts';
import { Engine } from '../../../src/engine/index.ts';
import type { GenerationService } from '../../../src/jobs/service.ts';
import { FakeDiscord } from '../../fakes/discord/server.ts';

let fake: FakeDiscord;
let engine: Engine;
/** Never reached: the start must fail before the adapter talks to the service. */
const unreachableService = new Proxy({} as GenerationService, {
  get: (_, key) => () => Promise.reject(new Error(`service.${String(key)} called before login succeeded`)),
});

beforeAll(async () => {
  [fake, engine] = await Promise.all([FakeDiscord.start(), Engine.load({ modelsDir: 'test/fixtures' })]);
});

afterAll(async () => {
  await engine?.close();
  await fake?.close();
});

describe('startDiscordAdapter', () => {
  it('rejects a wrong token with Discord’s answer and leaves no connection behind', async () => {
    const start = startDiscordAdapter({
      service: unreachableService,
      catalog: engine,
      logger: pino({ level: 'silent' }),
      env: { DISCORD_TOKEN: 'wrong', DISCORD_APPLICATION_ID: fake.applicationId, DISCORD_API_BASE: fake.apiBase },
    });
    await expect(start).rejects.toThrow(/401|Unauthorized|token/i);
    expect(fake.identifyCount).toBe(0);
  });

  it('rejects a missing application id before connecting', async () => {
    const start = startDiscordAdapter({ service: unreachableService, catalog: engine, logger: pino({ level: 'silent' }), env: { DISCORD_TOKEN: fake.botToken } });
    await expect(start).rejects.toThrow(/DISCORD_APPLICATION_ID: is required/);
  });
});
