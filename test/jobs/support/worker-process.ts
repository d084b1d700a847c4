/**
 * A standalone worker process for multi-process tests and the benchmark: the real runtime (claims,
 * leases and heartbeats, LISTEN/NOTIFY, attempt bookkeeping) around the fake engine, or the real engine when
 * WORKER_ENGINE=real (on MODELS_DIR). Prints "ready" once polling; SIGTERM stops it gracefully.
 */
import { Engine } from '../../../src/engine/index.ts';
import { startJobRuntime } from '../../../src/jobs/runtime.ts';
import { realRender } from '../../../src/main.ts';
import { FakeEngine, fakeRender } from './fake-engine.ts';
import { testConfig, testLog } from './runtime.ts';

const env = process.env;
const real = env.WORKER_ENGINE === 'real';
// The real engine on MODELS_DIR (default: the shipped models), one thread: tests run beside other work.
const engine = real
  ? await Engine.load({ ...(env.MODELS_DIR ? { modelsDir: env.MODELS_DIR } : {}), executionProvider: 'cpu', threads: 1 })
  : new FakeEngine({ stepMs: Number(env.FAKE_STEP_MS ?? 20) });
const rt = await startJobRuntime({
  config: testConfig({
    DATABASE_URL: env.DATABASE_URL,
    ROLE: 'worker',
    BATCH_SIZE: Number(env.BATCH_SIZE ?? 4),
    JOB_EXPIRE_SECONDS: Number(env.JOB_EXPIRE_SECONDS ?? 30),
    JOB_HEARTBEAT_SECONDS: Number(env.JOB_HEARTBEAT_SECONDS ?? 10),
    SHUTDOWN_GRACE_SECONDS: Number(env.SHUTDOWN_GRACE_SECONDS ?? 5),
  }),
  engine,
  render: real ? realRender : fakeRender,
  log: testLog,
  startWorker: true,
  ...(env.WORKER_ID ? { workerId: env.WORKER_ID } : {}),
});
process.stdout.write('ready\n');
let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  // Never linger: unfinished leases expire and another worker takes over.
  setTimeout(() => process.exit(2), (Number(env.SHUTDOWN_GRACE_SECONDS ?? 5) + 20) * 1000).unref();
  void rt.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
