/**
 * `npm start` (= `ddpm-bot serve`) as a newcomer runs it: no platform tokens, so the process serves
 * the playground, the API, /healthz and /metrics, logs JSON lines, and stops cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../jobs/support/database.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('serve');
});

afterAll(() => db?.drop());

describe('ddpm-bot serve', () => {
  it('serves the playground, health and metrics with JSON logs, and exits 0 on SIGTERM', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: db.url, PORT: '0', MODELS_DIR: 'test/fixtures', LOG_LEVEL: 'info', MIGRATE_ON_START: 'false', ENGINE_THREADS: '1' };
    for (const key of ['DISCORD_TOKEN', 'DISCORD_BOT_TOKEN', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'PLAYGROUND', 'METRICS', 'HOST', 'ALLOWED_HOSTS', 'API_TOKEN']) delete env[key];
    const child = spawn(process.execPath, ['bin/ddpm-bot.js', 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: Record<string, unknown>[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      let buffer = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL'); // a server that starts late would outlive the test
        reject(new Error(`no "http server listening" line within 60 s; stderr: ${stderr}`));
      }, 60_000);
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString();
        const parts = buffer.split('\n');
        buffer = parts.pop() ?? '';
        for (const part of parts.filter(Boolean)) {
          const line = JSON.parse(part) as Record<string, unknown>;
          lines.push(line);
          if (line['msg'] === 'http server listening') {
            clearTimeout(timer);
            resolve(Number(line['port']));
          }
        }
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      const page = await fetch(`${base}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('ddpm-bot');
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', checks: { database: { ok: true }, queue: { ok: true }, models: { ok: true } } });
      expect(await (await fetch(`${base}/metrics`)).text()).toContain('# TYPE ddpm_sampling_seconds histogram');
      // Loopback unless HOST says otherwise, and the start-up line says so.
      expect(lines.find((l) => l['msg'] === 'http server listening')).toMatchObject({ host: '127.0.0.1', reach: expect.stringContaining('loopback only') as unknown });
      expect(lines.every((l) => typeof l['time'] === 'string' && typeof l['level'] === 'string' && typeof l['msg'] === 'string')).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});
