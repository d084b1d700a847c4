/**
 * `npm run bench:queue`: queue throughput and latency with the real engine.
 *
 * For 1 and 2 worker processes, with micro-batching off (B=1) and on (B=8), submits 32 concurrent
 * requests (same model/sampler/steps, different seeds) through the job service on Postgres and
 * measures images/s (first submit to last completion) and queue latency (created -> started)
 * percentiles. Each worker process gets cores/workers ONNX threads and warms its session first.
 *
 * Env: BENCH_DATABASE_URL (a server to create a scratch database on; default local Postgres),
 * BENCH_MODELS_DIR + BENCH_MODEL (default: the first installed model, else the tiny test fixture),
 * BENCH_STEPS (default 20), BENCH_REQUESTS (default 32), BENCH_REPEATS (measured rounds per
 * configuration, default 3; images/s is their median). Prints a markdown table and writes
 * bench-results/queue.json and bench-results/queue.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { migrateDeploy, PROJECT_ROOT } from '../src/db/migrate.ts';
import { Engine } from '../src/engine/index.ts';
import { percentile } from '../src/eval/metrics.ts';
import { startJobRuntime } from '../src/jobs/runtime.ts';
import { realRender } from '../src/main.ts';

const ADMIN_URL = process.env['BENCH_DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const STEPS = Number(process.env['BENCH_STEPS'] ?? 20);
const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 32);
const REPEATS = Number(process.env['BENCH_REPEATS'] ?? 3);
const SELF = fileURLToPath(import.meta.url);

async function pickModel(): Promise<{ modelsDir: string | undefined; model: string }> {
  const dir = process.env['BENCH_MODELS_DIR'];
  const probe = await Engine.load({ ...(dir ? { modelsDir: dir } : {}), executionProvider: 'cpu' });
  const name = process.env['BENCH_MODEL'] ?? probe.models.list()[0]?.name;
  await probe.close();
  if (name) return { modelsDir: dir, model: name };
  // No trained model installed yet: the tiny fixture still exercises the whole path.
  return { modelsDir: path.join(PROJECT_ROOT, 'test/fixtures'), model: 'tiny' };
}

function dbUrl(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

// ---- worker mode: `tsx bench/queue.ts --worker` --------------------------------------------------

async function workerMain(): Promise<void> {
  const log = pino({ level: 'error' });
  const config = loadConfig({ ...process.env, ROLE: 'worker', MIGRATE_ON_START: 'false' });
  const engine = await Engine.load({
    ...(config.MODELS_DIR ? { modelsDir: config.MODELS_DIR } : {}),
    executionProvider: 'cpu',
    ...(config.DDPM_THREADS ? { threads: config.DDPM_THREADS } : {}),
  });
  // Load the ONNX session, run once and encode once so the measurement excludes start-up.
  const warm = await engine.generate(engine.validate({ model: process.env['BENCH_MODEL_NAME'], steps: 2, seed: 0 }));
  await realRender.imagePng(warm.images, 0);
  const rt = await startJobRuntime({ config, engine, render: realRender, log });
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => {
    void rt.close().then(() => engine.close()).then(() => process.exit(0));
  });
}

// ---- driver -----------------------------------------------------------------------------------

interface Row {
  workers: number;
  batchSize: number;
  requests: number;
  rounds: number;
  /** Median over rounds. */
  imagesPerSecond: number;
  minImagesPerSecond: number;
  maxImagesPerSecond: number;
  queueP50: number;
  queueP90: number;
  queueP99: number;
  totalP50: number;
  totalP99: number;
  meanBatch: number;
}

function startWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--worker'], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`bench worker exited with ${code}`)));
  });
}

async function scenario(admin: pg.Client, template: string, model: { modelsDir: string | undefined; model: string }, workers: number, batchSize: number): Promise<Row> {
  const name = `ddpm_bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  const url = dbUrl(name);
  const threads = Math.max(1, Math.floor(os.availableParallelism() / workers));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: url,
    BATCH_SIZE: String(batchSize),
    DDPM_THREADS: String(threads),
    WORKER_POLL_MS: '50',
    PROGRESS_MIN_INTERVAL_MS: '250',
    LOG_LEVEL: 'error',
    BENCH_MODEL_NAME: model.model,
    ...(model.modelsDir ? { MODELS_DIR: model.modelsDir } : {}),
  };
  const children: ChildProcess[] = [];
  const log = pino({ level: 'error' });
  const engine = await Engine.load({ ...(model.modelsDir ? { modelsDir: model.modelsDir } : {}), executionProvider: 'cpu' });
  const bot = await startJobRuntime({
    config: loadConfig({ DATABASE_URL: url, ROLE: 'bot', MIGRATE_ON_START: 'false', LIMIT_QUEUE_CAP: '1000', LIMIT_CONCURRENT_PER_USER: '1000', LIMIT_PER_HOUR: '100000' }),
    engine,
    render: realRender,
    log,
    startWorker: false,
  });
  try {
    for (let i = 0; i < workers; i++) children.push(await startWorker(env));
    const submitAll = (n: number, seedBase: number) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          bot.service
            .submitGeneration({ requester: { platform: 'cli', userId: `bench${seedBase + i}` }, params: { model: model.model, sampler: 'ddim', steps: STEPS, seed: seedBase + i, count: 1 }, replyTo: null })
            .then((s) => s.id),
        ),
      );
    const settle = async (ids: string[]) => {
      for (;;) {
        const { rows } = await bot.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM requests WHERE status IN ('succeeded', 'failed') AND id = ANY($1)`, [ids]);
        if (rows[0]!.n === ids.length) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // Warm-up round (not measured): first queue fetches, prepared paths, connection pools.
    await settle(await submitAll(workers * 2, 100_000));
    // Several measured rounds on the same warm workers: the machine is shared, so report the median.
    const rates: number[] = [];
    const allIds: string[] = [];
    for (let round = 0; round < REPEATS; round++) {
      const ids = await submitAll(REQUESTS, round * REQUESTS);
      await settle(ids);
      // Wall time from the first submission to the last completion, both stamped by Postgres.
      const { rows: span } = await bot.db.pool.query<{ ms: number }>(
        `SELECT (extract(epoch FROM max(finished_at) - min(created_at)) * 1000)::float AS ms FROM requests WHERE id = ANY($1)`,
        [ids],
      );
      rates.push(REQUESTS / (span[0]!.ms / 1000));
      allIds.push(...ids);
    }
    const { rows } = await bot.db.pool.query<{ queue_ms: number; total_ms: number; status: string }>(`SELECT queue_ms, total_ms, status::text FROM requests WHERE id = ANY($1)`, [allIds]);
    const failed = rows.filter((r) => r.status !== 'succeeded').length;
    if (failed > 0) throw new Error(`${failed} bench requests failed`);
    const { rows: batches } = await bot.db.pool.query<{ mean: number }>(
      `SELECT avg(n)::float AS mean FROM (SELECT count(*) AS n FROM request_attempts WHERE request_id = ANY($1) GROUP BY batch_id) t`,
      [allIds],
    );
    const queue = rows.map((r) => r.queue_ms).sort((a, b) => a - b);
    const total = rows.map((r) => r.total_ms).sort((a, b) => a - b);
    const sortedRates = [...rates].sort((a, b) => a - b);
    return {
      workers,
      batchSize,
      requests: REQUESTS,
      rounds: REPEATS,
      imagesPerSecond: percentile(sortedRates, 50),
      minImagesPerSecond: sortedRates[0]!,
      maxImagesPerSecond: sortedRates.at(-1)!,
      queueP50: percentile(queue, 50),
      queueP90: percentile(queue, 90),
      queueP99: percentile(queue, 99),
      totalP50: percentile(total, 50),
      totalP99: percentile(total, 99),
      meanBatch: batches[0]!.mean,
    };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.on('exit', r)))));
    await bot.close();
    await engine.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

async function driverMain(): Promise<void> {
  const model = await pickModel();
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const template = `ddpm_bench_tmpl_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${template}`);
  const rows: Row[] = [];
  try {
    await migrateDeploy(dbUrl(template));
    for (const workers of [1, 2]) {
      for (const batchSize of [1, 8]) {
        const row = await scenario(admin, template, model, workers, batchSize);
        rows.push(row);
        process.stderr.write(`workers=${workers} B=${batchSize}: ${row.imagesPerSecond.toFixed(2)} images/s\n`);
      }
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    await admin.end();
  }
  const header = `Model \`${model.model}\`, ddim ${STEPS} steps, ${REQUESTS} concurrent requests of 1 image, median of ${REPEATS} rounds (min–max in brackets), ${os.availableParallelism()} CPU cores (${os.cpus()[0]?.model ?? 'cpu'}), onnxruntime CPU; latencies over all rounds.`;
  const table = [
    '| workers | batching | images/s | mean batch | queue p50 ms | queue p90 ms | queue p99 ms | total p50 ms | total p99 ms |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.workers} | ${r.batchSize === 1 ? 'off (B=1)' : `on (B=${r.batchSize})`} | ${r.imagesPerSecond.toFixed(1)} (${r.minImagesPerSecond.toFixed(1)}–${r.maxImagesPerSecond.toFixed(1)}) | ${r.meanBatch.toFixed(1)} | ${r.queueP50} | ${r.queueP90} | ${r.queueP99} | ${r.totalP50} | ${r.totalP99} |`,
    ),
  ].join('\n');
  process.stdout.write(`${header}\n\n${table}\n`);
  const out = path.join(PROJECT_ROOT, 'bench-results');
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, 'queue.json'), JSON.stringify({ model: model.model, steps: STEPS, requests: REQUESTS, cores: os.availableParallelism(), rows }, null, 2));
  await writeFile(path.join(out, 'queue.md'), `${header}\n\n${table}\n`);
}

if (process.argv.includes('--worker')) await workerMain();
else await driverMain();
