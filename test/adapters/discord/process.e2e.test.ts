/**
 * The wiring in src/main.ts, as deployed (`ddpm-bot serve`): the service process starts the Discord bot when
 * DISCORD_TOKEN is set (ROLE=all here), answers a /generate through the fake Discord, and logs the
 * bot out on SIGTERM. A ROLE=worker process with the same environment never logs in. A /compare whose
 * bot is killed midway is finished by the next bot, each run submitted once.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../fakes/discord/server.ts';
import type { TestDatabase } from '../../jobs/support/database.ts';
import { createTestDatabase } from '../../jobs/support/database.ts';
import pg from 'pg';
import { embedField, embedTitle, isFinal } from './support/harness.ts';

let fake: FakeDiscord;
let database: TestDatabase;

beforeAll(async () => {
  [fake, database] = await Promise.all([FakeDiscord.start(), createTestDatabase('discord_process')]);
});

afterAll(async () => {
  await fake?.close();
  await database?.drop();
});

function startService(role: 'all' | 'bot' | 'worker', extraEnv: Record<string, string> = {}): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
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
      ...extraEnv,
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
      // 'ready' is logged once startService has started every adapter the role runs.
      await fake.waitFor(() => /"msg":"ready"/.test(worker.output()) || worker.child.exitCode !== null, 60_000, 'worker ready');
      expect(worker.output()).toContain('worker started');
      expect(worker.output()).not.toContain('discord adapter');
      expect(fake.identifyCount).toBe(before);
    } finally {
      worker.child.kill('SIGTERM');
    }
    expect(await worker.exited).toBe(0);
  });

  it('a /compare whose bot is killed after submitting its first run is finished by the next bot: every run once, every row answered', async () => {
    const db = new pg.Pool({ connectionString: database.url, max: 1 });
    // Short leases: the dead bot's comparison is taken over within 3 s (as a dead worker's jobs are).
    const lease = { JOB_EXPIRE_SECONDS: '3', JOB_HEARTBEAT_SECONDS: '1' };
    const rows = async (sql: string, params: unknown[]) => (await db.query(sql, params)).rows;
    /** Polls the database (not the fake, whose waitFor wakes on its own changes) until `check` holds. */
    const until = async (check: () => Promise<boolean>, what: string) => {
      const deadline = Date.now() + 60_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    // ROLE=bot runs no worker: the first run waits in the queue while its bot dies.
    const first = startService('bot', lease);
    let second: ReturnType<typeof startService> | null = null;
    try {
      await fake.waitFor(() => first.output().includes('discord adapter ready') || first.child.exitCode !== null, 180_000, 'the first bot');
      expect(first.child.exitCode, first.output()).toBeNull();
      const vera = fake.user('vera');
      const interaction = fake.command(vera, 'compare', { model: 'tiny', seed: 21, steps: 4 });
      await until(async () => (await rows('SELECT 1 FROM requests WHERE user_id = $1', [vera.id])).length > 0, 'the first run submitted');
      first.child.kill('SIGKILL');
      await first.exited;
      const [stored] = await rows('SELECT runs FROM comparisons', []);
      const samplers = (stored.runs as { sampler: string }[]).map((r) => r.sampler);
      expect(samplers.length).toBeGreaterThan(2);
      expect(await rows('SELECT sampler FROM requests WHERE user_id = $1', [vera.id])).toEqual([{ sampler: samplers[0] }]);

      second = startService('all', lease);
      await fake.waitFor(() => interaction.followups.length >= samplers.length && interaction.followups.every(isFinal), 360_000, 'every run delivered').catch((error: unknown) => {
        throw new Error(`${String(error)}; follow-ups ${interaction.followups.length}, table: ${interaction.response?.content}\n${second?.output()}`);
      });
      const table = await fake.waitFor(() => {
        const content = interaction.response?.content ?? '';
        return samplers.every((s) => new RegExp(`^${s}\\s+4\\s+\\d+\\.\\d\\d$`, 'm').test(content)) ? content : null;
      }, 30_000, 'the finished table');
      expect(table).toContain('seed 21, tiny');
      // One message per run, each run's request once, and the comparison done.
      expect(interaction.followups.map((f) => embedField(f, 'Sampler'))).toEqual(samplers);
      const submitted = (await rows('SELECT sampler FROM requests WHERE user_id = $1', [vera.id])).map((r) => r.sampler as string);
      expect(submitted.sort()).toEqual([...samplers].sort());
      await until(async () => (await rows('SELECT 1 FROM comparisons WHERE finished_at IS NOT NULL', [])).length === 1, 'the comparison finished');
    } finally {
      first.child.kill('SIGKILL');
      second?.child.kill('SIGTERM');
      await second?.exited;
      await db.end();
    }
  }, 600_000);
});
