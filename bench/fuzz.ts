/**
 * `npm run fuzz`: the standing abuse suite. Starts `ddpm-bot serve` on loopback (tiny fixture model,
 * a scratch Postgres database, the Slack adapter against the fake Slack API) and sends, bounded in
 * count and time: FUZZ_CASES (default 10,000) generated malformed requests across every route
 * (bench/fuzz/cases.ts), hostile images among them, FUZZ_SLOW (default 24) slow clients and endless
 * chunked bodies. Prints a table (requests sent, responses by status, 5xx, crashes, hangs over 5 s,
 * peak RSS, database validity) and writes bench-results/fuzz.md; exits 1 if any must-be-zero is not.
 *
 * Env: FUZZ_CASES, FUZZ_SEED (default 13), FUZZ_SLOW, FUZZ_CONCURRENCY (default 16), TEST_PG_URL
 * (the Postgres to create the scratch database on; default the local one).
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import pg from 'pg';
import { PROJECT_ROOT } from '../src/db/migrate.ts';
import { Engine } from '../src/engine/index.ts';
import { createTestDatabase } from '../test/jobs/support/database.ts';
import { FakeSlackApi } from '../test/fakes/slack/fake-slack-api.ts';
import { fuzzCases } from './fuzz/cases.ts';
import { checkDatabase } from './fuzz/check-db.ts';
import { hostileImages } from './fuzz/images.ts';
import { chunkedOversize, finishedRequest, newTally, runCases, slowClients } from './fuzz/run.ts';

const CASES = Number(process.env['FUZZ_CASES'] ?? 10_000);
const SEED = Number(process.env['FUZZ_SEED'] ?? 13);
const SLOW = Number(process.env['FUZZ_SLOW'] ?? 24);
const CONCURRENCY = Number(process.env['FUZZ_CONCURRENCY'] ?? 16);
const REQUEST_TIMEOUT_SECONDS = 3;
const SECRET = 'fuzz-signing-secret-0123456789abcdef';
const BOT_TOKEN = 'xoxb-fuzz';

/** Resident memory of a process in MB from /proc: now (VmRSS) and its peak (VmHWM). */
async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

async function main(): Promise<number> {
  const started = Date.now();
  const fake = new FakeSlackApi(BOT_TOKEN);
  await fake.start();
  const db = await createTestDatabase('fuzz');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: db.url,
    PORT: '0',
    MODELS_DIR: 'test/fixtures',
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'info',
    DDPM_THREADS: '1',
    WORKER_POLL_MS: '200',
    REQUEST_TIMEOUT_SECONDS: String(REQUEST_TIMEOUT_SECONDS),
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: fake.apiUrl,
  };
  for (const key of ['DISCORD_TOKEN', 'SLACK_APP_TOKEN', 'HOST', 'ALLOWED_HOSTS', 'API_TOKEN', 'ROLE']) delete env[key];
  const child = spawn(process.execPath, ['bin/ddpm-bot.js', 'serve'], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let crashed: string | null = null;
  let stopping = false;
  const logged = { error: 0, fatal: 0 };
  child.once('exit', (code, signal) => {
    if (!stopping) crashed = `exited with ${code ?? signal}`;
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (d: Buffer) => {
      const lines = (buffer + d.toString()).split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; level?: number; port?: number };
        if ((entry.level ?? 0) >= 60) logged.fatal++;
        else if ((entry.level ?? 0) >= 50) logged.error++;
        if (entry.msg === 'http server listening') resolve(entry.port!);
      }
    });
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    child.once('exit', () => reject(new Error('the service exited before listening')));
  });
  let peakSeen = 0;
  const sampler = setInterval(() => void memoryOf(child.pid!).then((m) => (peakSeen = Math.max(peakSeen, m.rss))), 200);
  const rssAtStart = (await memoryOf(child.pid!)).rss;

  const images = await hostileImages();
  const engine = await Engine.load({ modelsDir: `${PROJECT_ROOT}/test/fixtures`, executionProvider: 'cpu', threads: 1 });
  const models = engine.models.list().map((m) => m.name);
  const requestIds = [await finishedRequest(port, models[0]!)];
  const target = { port, models, samplers: engine.samplers.list().map((s) => s.name), images, slackSecret: SECRET, requestIds };
  const tally = newTally();
  const phases: Array<[string, number]> = [];
  const timed = async (name: string, run: () => Promise<void>) => {
    const t0 = Date.now();
    await run();
    phases.push([name, (Date.now() - t0) / 1000]);
  };
  await timed(`${CASES} generated cases`, () => runCases(port, fuzzCases(target, CASES, SEED), tally, CONCURRENCY));
  await timed(`${SLOW} slow clients`, () => slowClients(port, SLOW, tally, (REQUEST_TIMEOUT_SECONDS + 2) * 1000));
  await timed('chunked oversize bodies', () => chunkedOversize(port, tally, true, 3));
  const healthy = crashed === null && (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status === 200, () => false));
  clearInterval(sampler);
  const memory = await memoryOf(child.pid!);

  // Let accepted requests finish, then judge what the database holds.
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  for (let i = 0; i < 300; i++) {
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM requests WHERE status IN ('queued', 'running')");
    if (rows[0]!.n === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const dbReport = await checkDatabase(pool, engine);
  const byStatus = await pool.query<{ status: string; n: number }>('SELECT status::text, count(*)::int AS n FROM requests GROUP BY status ORDER BY status');
  await pool.end();

  stopping = true;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await engine.close();
  await db.drop();
  await fake.stop();

  const outcomes = [...tally.outcomes.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}: ${n}`).join(', ');
  const verdict = (ok: boolean) => (ok ? 'ok' : '**FAIL**');
  const rows: Array<[string, string, string]> = [
    ['requests sent', String(tally.sent), ''],
    ['responses by status', outcomes, ''],
    ['5xx answers', String(tally.serverErrors), verdict(tally.serverErrors === 0)],
    ['crashes (service exits)', crashed ? `1 (${crashed})` : '0', verdict(!crashed && healthy)],
    ['hangs (no answer within 5 s)', String(tally.hangs), verdict(tally.hangs === 0)],
    ['connections closed without an answer', String(tally.unanswered), verdict(tally.unanswered === 0)],
    ['answers with a stack trace', String(tally.stackTraces), verdict(tally.stackTraces === 0)],
    ['error/fatal log lines', `${logged.error} / ${logged.fatal}`, ''],
    ['slowest answer', `${(tally.slowestMs / 1000).toFixed(2)} s`, ''],
    ['service RSS: start, peak (VmHWM), end', `${rssAtStart.toFixed(0)} MB, ${Math.max(memory.peak, peakSeen).toFixed(0)} MB, ${memory.rss.toFixed(0)} MB`, ''],
    ['database afterwards', `${dbReport.requests} requests (${byStatus.rows.map((r) => `${r.n} ${r.status}`).join(', ')}), ${dbReport.invalid.length} invalid, ${dbReport.orphans.length} schema objects outside the migrations`, verdict(dbReport.invalid.length === 0 && dbReport.orphans.length === 0)],
  ];
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const md = [
    `\`npm run fuzz\`, seed ${SEED}, ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores (${cpu}), load average ${os.loadavg()[0]!.toFixed(1)} at the end; ${((Date.now() - started) / 1000).toFixed(0)} s (${phases.map(([n, s]) => `${n} ${s.toFixed(0)} s`).join(', ')}).`,
    '',
    '| check | result | |',
    '|---|---|---|',
    ...rows.map(([a, b, c]) => `| ${a} | ${b} | ${c} |`),
    ...(tally.failures.length + dbReport.invalid.length + dbReport.orphans.length > 0 ? ['', 'First failures:', '', ...[...tally.failures, ...dbReport.invalid, ...dbReport.orphans].map((f) => `- ${f}`)] : []),
  ].join('\n');
  process.stdout.write(`${md}\n`);
  await mkdir(`${PROJECT_ROOT}/bench-results`, { recursive: true });
  await writeFile(`${PROJECT_ROOT}/bench-results/fuzz.md`, `${md}\n`);
  const clean = tally.serverErrors + tally.hangs + tally.unanswered + tally.stackTraces + dbReport.invalid.length + dbReport.orphans.length === 0 && !crashed && healthy;
  return clean ? 0 : 1;
}

process.exitCode = await main();
