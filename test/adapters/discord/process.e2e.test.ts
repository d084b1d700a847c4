/**
 * The wiring in src/main.ts, as deployed (`ddpm-bot serve`): the service process starts the Discord bot when
 * DISCORD_TOKEN is set (ROLE=all here), answers a /generate through the fake Discord, and logs the
 * bot out on SIGTERM. A ROLE=worker process with the same environment never logs in.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../fakes/discord/server.ts';
import type { TestDatabase } from '../../jobs/support/database.ts';
import { createTestDatabase } from '../../jobs/support/database.ts';
import { embedField, embedTitle } from './support/harness.ts';

let fake: FakeDiscord;
let database: TestDatabase;

beforeAll(async () => {
  [fake, database] = await Promise.all([FakeDiscord.start(), createTestDatabase('discord_process')]);
});

afterAll(async () => {
  await fake?.close();
  await database?.drop();
});

function startService(role: 'all' | 'worker'): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  // What `npm start` runs; bin/ddpm-bot.js loads tsx in-process, so SIGTERM reaches the service itself.
  const child = spawn(process.execPath, ['bin/ddpm-bot.js', 'serve'], {
    env: {
      ...process.env,
      ROLE: role,
      PORT: '0',
      DATABASE_URL: database.url,
      MIGRATE_ON_START: 'false',
      MODELS_DIR: 'test/fixtures',
      LOG_LEVEL: 'info',
      WORKER_POLL_MS: '100',
      SHUTDOWN_GRACE_SECONDS: '2',
      DISCORD_TOKEN: fake.botToken,
      DISCORD_APPLICATION_ID: fake.applicationId,
      DISCORD_API_BASE: fake.apiBase,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

describe('src/main.ts with DISCORD_TOKEN', () => {
  it('ROLE=all logs the bot in, answers /generate, and stops cleanly on SIGTERM', async () => {
    const service = startService('all');
    try {
      await fake.waitFor(() => fake.identifyCount >= 1 || service.child.exitCode !== null, 60_000, 'the service to log in');
      expect(service.child.exitCode, service.output()).toBeNull();
      await fake.waitFor(() => service.output().includes('discord adapter ready'), 30_000, 'adapter ready');
      const user = fake.user('uma');
      const interaction = fake.command(user, 'generate', { model: 'tiny', sampler: 'ddim', steps: 10, seed: 12 });
      const final = await fake.waitFor(() => (interaction.response && /^✨/u.test(embedTitle(interaction.response)) ? interaction.response : null), 30_000, 'result');
      expect(embedField(final, 'Seed')).toBe('`12`');
    } finally {
      service.child.kill('SIGTERM');
    }
    expect(await service.exited).toBe(0);
    expect(service.output()).toContain('discord adapter stopped');
  });

  it('ROLE=worker never starts the bot', async () => {
    const before = fake.identifyCount;
    const worker = startService('worker');
    try {
      await fake.waitFor(() => worker.output().includes('worker started') || worker.child.exitCode !== null, 60_000, 'worker start');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(fake.identifyCount).toBe(before);
    } finally {
      worker.child.kill('SIGTERM');
    }
    expect(await worker.exited).toBe(0);
  });
});
