/**
 * `npm run bench:queue`: queue throughput and latency with the real engine.
 *
 * One worker process (BATCH_SIZE=4) serves 1, 4 and 16 closed-loop clients submitting through a
 * ROLE=bot job service on Postgres (same model/sampler/steps, different seeds); measures images/s,
 * p50/p95 queue-to-finish latency (created -> finished) and the time from submit to the first
 * preview the submitting process sees. The worker warms its session first.
 *
 * Env: BENCH_DATABASE_URL (a server to create a scratch database on; default local Postgres),
 * BENCH_MODELS_DIR + BENCH_MODEL (default: the first installed model, else the tiny test fixture),
 * BENCH_STEPS (default 20), BENCH_REQUESTS (requests per round, default 32), BENCH_REPEATS
 * (measured rounds per concurrency, default 3; images/s is their median), BENCH_CLIENTS (the
 * concurrencies, default 1,4,16), BENCH_WORKER_NODE_ARGS (node flags for the worker process alone, e.g.
 * `--cpu-prof --cpu-prof-dir=prof`). Prints a markdown table and writes bench-results/queue.json and
 * bench-results/queue.md.
 *
 * Besides wall-clock rates it reports CPU milliseconds per image in the submitting process, the
 * worker process and the database's backends for the scratch database (Linux /proc): on a shared
 * machine the wall-clock rate moves with the neighbours' load, the CPU each image costs much less.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
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
const CLIENTS = (process.env['BENCH_CLIENTS'] ?? '1,4,16').split(',').map(Number);
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
  concurrency: number;
  requests: number;
  rounds: number;
  /** Median over rounds. */
  imagesPerSecond: number;
  minImagesPerSecond: number;
  maxImagesPerSecond: number;
  /** created_at -> finished_at, stamped by Postgres. */
  finishP50: number;
  finishP95: number;
  /** From calling submit to the first progress event carrying a preview, seen by the submitting process. */
  previewP50: number;
  previewP95: number;
  meanBatch: number;
  /** CPU ms per image, over all rounds: submitting process, worker process, Postgres backends. */
  cpuBotMs: number;
  cpuWorkerMs: number;
  cpuDbMs: number;
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux this runs on

/** User + system CPU ms a process has used so far (0 if it is gone or /proc is absent). */
function processCpuMs(pid: number): number {
  try {
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the line.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU ms of every server backend connected to `database`, by pid. */
async function backendCpuMs(admin: pg.Client, database: string): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
  return new Map(rows.map((r) => [r.pid, processCpuMs(r.pid)]));
}

/** CPU used between two backend snapshots (a backend that exited in between is not counted). */
function backendCpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, now] of after) ms += now - (before.get(pid) ?? 0);
  return ms;
}

function startWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const nodeArgs = (process.env['BENCH_WORKER_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', SELF, '--worker'], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`bench worker exited with ${code}`)));
  });
}

/** Per request: when its first preview and its final event reached the submitting process. */
interface Seen {
  preview?: number;
  final?: () => void;
  done?: boolean;
}

/**
 * One ROLE=bot runtime submits, one ROLE=worker process (BATCH_SIZE=4, all cores' threads) runs.
 * For each concurrency c, c clients each submit a request, wait for its final event and submit the
 * next (closed loop) until REQUESTS are done; images/s is REQUESTS over that wall time.
 */
async function measure(admin: pg.Client, template: string, model: { modelsDir: string | undefined; model: string }): Promise<Row[]> {
  const name = `ddpm_bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  const url = dbUrl(name);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: url,
    BATCH_SIZE: '4',
    DDPM_THREADS: String(os.availableParallelism()),
    WORKER_POLL_MS: '50',
    PROGRESS_MIN_INTERVAL_MS: '250',
    PROGRESS_PREVIEWS: 'true',
    LOG_LEVEL: 'error',
    BENCH_MODEL_NAME: model.model,
    ...(model.modelsDir ? { MODELS_DIR: model.modelsDir } : {}),
  };
  const log = pino({ level: 'error' });
  const engine = await Engine.load({ ...(model.modelsDir ? { modelsDir: model.modelsDir } : {}), executionProvider: 'cpu' });
  const bot = await startJobRuntime({
    config: loadConfig({ DATABASE_URL: url, ROLE: 'bot', MIGRATE_ON_START: 'false', LIMIT_QUEUE_CAP: '1000', LIMIT_CONCURRENT_PER_USER: '1000', LIMIT_PER_HOUR: '100000' }),
    engine,
    render: realRender,
    log,
    startWorker: false,
  });
  const seen = new Map<string, Seen>();
  const entry = (id: string) => {
    let e = seen.get(id);
    if (!e) seen.set(id, (e = {}));
    return e;
  };
  // Subscribed before any submit, so events that beat submit's return are not missed.
  const unwatch = bot.service.watchPlatform('cli', (ev) => {
    const e = entry(ev.requestId);
    if (ev.type === 'progress' && ev.previewPng && e.preview === undefined) e.preview = performance.now();
    if (ev.type === 'succeeded' || ev.type === 'failed' || ev.type === 'cancelled') {
      e.done = true;
      e.final?.();
    }
  });
  let worker: ChildProcess | null = null;
  let seed = 0;
  const one = async (): Promise<{ id: string; preview: number }> => {
    const t0 = performance.now();
    const s = seed++;
    const { id } = await bot.service.submitGeneration({
      requester: { platform: 'cli', userId: `bench${s}` },
      params: { model: model.model, sampler: 'ddim', steps: STEPS, seed: s, count: 1 },
      replyTo: null,
    });
    const e = entry(id);
    if (!e.done) await new Promise<void>((r) => (e.final = r));
    return { id, preview: (e.preview ?? Number.NaN) - t0 };
  };
  const round = async (concurrency: number, n: number) => {
    let left = n;
    const out: { id: string; preview: number }[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (left > 0) {
          left--;
          out.push(await one());
        }
      }),
    );
    return { seconds: (performance.now() - t0) / 1000, out };
  };
  try {
    worker = await startWorker(env);
    await round(4, 8); // warm-up (not measured): first fetches, prepared paths, pools
    const rows: Row[] = [];
    for (const concurrency of CLIENTS) {
      const rates: number[] = [];
      const done: { id: string; preview: number }[] = [];
      const cpu0 = { bot: process.cpuUsage(), worker: processCpuMs(worker.pid!), db: await backendCpuMs(admin, name) };
      for (let r = 0; r < REPEATS; r++) {
        const { seconds, out } = await round(concurrency, REQUESTS);
        rates.push(REQUESTS / seconds);
        done.push(...out);
      }
      const botCpu = process.cpuUsage(cpu0.bot);
      const cpu = {
        bot: (botCpu.user + botCpu.system) / 1000,
        worker: processCpuMs(worker.pid!) - cpu0.worker,
        db: backendCpuSince(cpu0.db, await backendCpuMs(admin, name)),
      };
      const ids = done.map((d) => d.id);
      const { rows: db } = await bot.db.pool.query<{ total_ms: number; status: string }>(`SELECT total_ms, status::text FROM requests WHERE id = ANY($1)`, [ids]);
      const failed = db.filter((r) => r.status !== 'succeeded').length;
      if (failed > 0) throw new Error(`${failed} bench requests failed`);
      const { rows: batches } = await bot.db.pool.query<{ mean: number }>(
        `SELECT avg(n)::float AS mean FROM (SELECT count(*) AS n FROM request_attempts WHERE request_id = ANY($1) GROUP BY batch_id) t`,
        [ids],
      );
      const finish = db.map((r) => r.total_ms).sort((a, b) => a - b);
      const preview = done.map((d) => d.preview).filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
      const sortedRates = [...rates].sort((a, b) => a - b);
      const row: Row = {
        concurrency,
        requests: REQUESTS,
        rounds: REPEATS,
        imagesPerSecond: percentile(sortedRates, 50),
        minImagesPerSecond: sortedRates[0]!,
        maxImagesPerSecond: sortedRates.at(-1)!,
        finishP50: percentile(finish, 50),
        finishP95: percentile(finish, 95),
        previewP50: Math.round(percentile(preview, 50)),
        previewP95: Math.round(percentile(preview, 95)),
        meanBatch: batches[0]!.mean,
        cpuBotMs: Math.round(cpu.bot / done.length),
        cpuWorkerMs: Math.round(cpu.worker / done.length),
        cpuDbMs: Math.round(cpu.db / done.length),
      };
      rows.push(row);
      process.stderr.write(
        `concurrency=${concurrency}: ${row.imagesPerSecond.toFixed(2)} images/s, CPU ms/image bot ${row.cpuBotMs} worker ${row.cpuWorkerMs} db ${row.cpuDbMs}\n`,
      );
    }
    return rows;
  } finally {
    unwatch();
    worker?.kill('SIGTERM');
    if (worker) await new Promise((r) => (worker!.exitCode !== null ? r(null) : worker!.on('exit', r)));
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
  let rows: Row[];
  try {
    await migrateDeploy(dbUrl(template));
    rows = await measure(admin, template, model);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    await admin.end();
  }
  const header = `Model \`${model.model}\`, ddim ${STEPS} steps, 1 worker process (BATCH_SIZE=4), ${REQUESTS} requests of 1 image per round from c closed-loop clients, median of ${REPEATS} rounds (min–max in brackets), ${os.availableParallelism()} CPU cores (${os.cpus()[0]?.model ?? 'cpu'}), onnxruntime CPU, load average ${os.loadavg()[0]!.toFixed(1)} at the end; latencies over all rounds.`;
  const table = [
    '| concurrent requests | images/s | mean batch | queue→finish p50 ms | queue→finish p95 ms | submit→first preview p50 ms | p95 ms | CPU ms/image bot / worker / db |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.concurrency} | ${r.imagesPerSecond.toFixed(1)} (${r.minImagesPerSecond.toFixed(1)}–${r.maxImagesPerSecond.toFixed(1)}) | ${r.meanBatch.toFixed(1)} | ${r.finishP50} | ${r.finishP95} | ${r.previewP50} | ${r.previewP95} | ${r.cpuBotMs} / ${r.cpuWorkerMs} / ${r.cpuDbMs} |`,
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
