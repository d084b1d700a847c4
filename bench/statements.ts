/**
 * `npm run bench:statements`: the SQL statements (each one round trip to Postgres) that one request
 * costs, by process role and statement, with one client submitting at a time: the number that does
 * not move with the machine's load, unlike bench:queue's timings.
 *
 * A ROLE=bot runtime submits and a ROLE=worker runtime runs, in this one process but on their own
 * pools (told apart by application_name), with bench:queue's settings (BATCH_SIZE=4, 250 ms
 * progress interval, previews on, WORKER_POLL_MS=50), on a scratch database. Every query a pg
 * client sends is counted. Claims that found nothing (the idle poll) depend on how long the worker
 * waited, so they are reported apart.
 *
 * Env: BENCH_DATABASE_URL, BENCH_MODELS_DIR + BENCH_MODEL (default the tiny test fixture),
 * BENCH_STEPS (default 20), BENCH_REQUESTS (default 20).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { migrateDeploy, PROJECT_ROOT } from '../src/db/migrate.ts';
import { Engine } from '../src/engine/index.ts';
import { startJobRuntime } from '../src/jobs/runtime.ts';
import { realRender } from '../src/main.ts';

const ADMIN_URL = process.env['BENCH_DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const MODELS_DIR = process.env['BENCH_MODELS_DIR'] ?? path.join(PROJECT_ROOT, 'test/fixtures');
const MODEL = process.env['BENCH_MODEL'] ?? 'tiny';
const STEPS = Number(process.env['BENCH_STEPS'] ?? 20);
const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 20);
const CLAIM_PREFIX = 'WITH head AS';

interface Counted {
  role: string;
  statement: string;
  empty: boolean;
}

let counting = false;
const counted: Counted[] = [];

/** Counts every query a pg client sends once `counting` is on, by its connection's application_name. */
function countQueries(): void {
  const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client & { connectionParameters: { application_name?: string } }, ...args: unknown[]) {
    if (!counting) return original.apply(this, args);
    const q = args[0];
    const text = (typeof q === 'string' ? q : ((q as { text?: string }).text ?? '')).replace(/\s+/g, ' ').trim();
    const entry: Counted = { role: (this.connectionParameters.application_name ?? '?').replace(/^ddpm-bot-/, ''), statement: text.slice(0, 70), empty: false };
    counted.push(entry);
    // Queries through the pool (Prisma's adapter outside transactions) pass a callback; the claim is one of them.
    const callback = args.at(-1);
    if (text.startsWith(CLAIM_PREFIX) && typeof callback === 'function') {
      args[args.length - 1] = (err: unknown, r: { rowCount?: number | null } | undefined) => {
        entry.empty = !err && (r?.rowCount ?? 0) === 0;
        (callback as (e: unknown, r: unknown) => void)(err, r);
      };
    }
    return original.apply(this, args);
  } as typeof pg.Client.prototype.query;
}

function dbUrl(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

async function main(): Promise<void> {
  countQueries();
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const name = `ddpm_stmt_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = dbUrl(name);
  const log = pino({ level: 'error' });
  const engine = await Engine.load({ modelsDir: MODELS_DIR, executionProvider: 'cpu' });
  const settings = { DATABASE_URL: url, MIGRATE_ON_START: 'false', BATCH_SIZE: '4', WORKER_POLL_MS: '50', PROGRESS_MIN_INTERVAL_MS: '250', PROGRESS_PREVIEWS: 'true' };
  try {
    await migrateDeploy(url);
    const bot = await startJobRuntime({ config: loadConfig({ ...settings, ROLE: 'bot' }), engine, render: realRender, log, startWorker: false });
    const worker = await startJobRuntime({ config: loadConfig({ ...settings, ROLE: 'worker' }), engine, render: realRender, log });
    try {
      const finals = new Map<string, () => void>();
      const done = new Set<string>();
      const unwatch = bot.service.watchPlatform('cli', (ev) => {
        if (ev.type !== 'succeeded' && ev.type !== 'failed' && ev.type !== 'cancelled') return;
        if (ev.type !== 'succeeded') throw new Error(`request ${ev.requestId} ended ${ev.type}`);
        done.add(ev.requestId);
        finals.get(ev.requestId)?.();
      });
      const one = async (seed: number) => {
        const { id } = await bot.service.submitGeneration({
          requester: { platform: 'cli', userId: `stmt${seed}` },
          params: { model: MODEL, sampler: 'ddim', steps: STEPS, seed, count: 1 },
          replyTo: null,
        });
        if (!done.has(id)) await new Promise<void>((r) => finals.set(id, r));
      };
      await one(0); // warm-up: first connections, prepared paths
      counting = true;
      for (let i = 1; i <= REQUESTS; i++) await one(i);
      counting = false;
      unwatch();
    } finally {
      await worker.close();
      await bot.close();
    }
  } finally {
    await engine.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
  report();
}

function report(): void {
  const groups = new Map<string, number>();
  let idle = 0;
  for (const c of counted) {
    if (c.empty) {
      idle++;
      continue;
    }
    const key = `${c.role}\t${c.statement}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  const perRequest = (n: number) => (n / REQUESTS).toFixed(2);
  const lines = [...groups].sort((a, b) => a[0].localeCompare(b[0])).map(([key, n]) => `| ${key.replace('\t', ' | ')} | ${perRequest(n)} |`);
  const byRole = new Map<string, number>();
  for (const [key, n] of groups) byRole.set(key.split('\t')[0]!, (byRole.get(key.split('\t')[0]!) ?? 0) + n);
  process.stdout.write(
    [
      `Model \`${MODEL}\`, ddim ${STEPS} steps, ${REQUESTS} requests one after another; statements per request:`,
      '',
      '| process | statement | per request |',
      '|---|---|---:|',
      ...lines,
      ...[...byRole].map(([role, n]) => `| ${role} | **all** | ${perRequest(n)} |`),
      `| worker | idle claims that found nothing | ${perRequest(idle)} |`,
      '',
    ].join('\n'),
  );
}

await main();
