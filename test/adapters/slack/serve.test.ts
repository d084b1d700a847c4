/**
 * The wiring in main.ts: `ddpm-bot serve` starts the Slack adapter from the environment (ROLE=all) on
 * the service's one port and stops on SIGTERM; ROLE=worker never starts it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlackApi } from '../../fakes/slack/fake-slack-api.ts';
import { commandBody, sendToApp } from '../../fakes/slack/slack-requests.ts';
import type { TestDatabase } from '../../jobs/support/database.ts';
import { createTestDatabase } from '../../jobs/support/database.ts';
import { BOT_TOKEN, SIGNING_SECRET } from './support/harness.ts';

let fake: FakeSlackApi;
let db: TestDatabase;

beforeAll(async () => {
  fake = new FakeSlackApi(BOT_TOKEN);
  await fake.start();
  db = await createTestDatabase('slack_serve');
});
afterAll(async () => {
  await db?.drop();
  await fake?.stop();
});

function serve(env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['bin/ddpm-bot.js', 'serve'], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      MODELS_DIR: 'test/fixtures',
      MIGRATE_ON_START: 'false',
      LOG_LEVEL: 'info',
      ENGINE_THREADS: '1',
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: fake.apiUrl,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function until(check: () => boolean, timeoutMs: number, what: string, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('ddpm-bot serve', () => {
  it('starts the Slack adapter when its tokens are set (ROLE=all) and stops on SIGTERM', async () => {
    const p = serve({ PORT: '0', ROLE: 'all' });
    try {
      await until(() => p.output().includes('http server listening'), 60_000, 'the service', p.output);
      // PORT=0: the bound port is in the (JSON) log line.
      const port = Number(/"port":(\d+)[^\n]*http server listening/.exec(p.output())?.[1]);
      expect(port).toBeGreaterThan(0);
      expect(p.output()).toContain('slack adapter started');
      const res = await sendToApp(`http://127.0.0.1:${port}/slack/events`, SIGNING_SECRET, commandBody({ command: '/generate', text: 'sampler:ddim steps:4 seed:9', channel: 'C0SERVE', user: 'U0SERVE', responseUrl: fake.responseUrl() }));
      expect(res.status).toBe(200);
      const upload = await fake.waitFor(() => fake.uploads.find((u) => u.channelId === 'C0SERVE'), 30_000, 'upload');
      expect(upload.initialComment).toContain('seed `9`');
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  it('does not start it in ROLE=worker', async () => {
    const before = fake.callsOf('auth.test').length;
    const p = serve({ ROLE: 'worker' });
    try {
      await until(() => p.output().includes('worker started'), 60_000, 'the worker', p.output);
      await new Promise((r) => setTimeout(r, 500));
      expect(p.output()).not.toContain('slack adapter started');
      expect(fake.callsOf('auth.test').length).toBe(before);
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    } finally {
      p.child.kill('SIGKILL');
    }
  });
});
