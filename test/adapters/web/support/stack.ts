/**
 * The real service for browser and HTTP tests: startService from src/main.ts (HTTP API, job
 * runtime, worker, ops routes, playground) with the real Engine on the tiny fixture model and a
 * throwaway Postgres database.
 */
import { Writable } from 'node:stream';
import { loadConfig } from '../../../../src/config.ts';
import { Engine } from '../../../../src/engine/index.ts';
import { startService, type ServiceHandle } from '../../../../src/main.ts';
import { createLogger, type OpsConfig } from '../../../../src/ops/index.ts';
import { createTestDatabase, type TestDatabase } from '../../../jobs/support/database.ts';

export interface Stack {
  readonly url: string;
  readonly engine: Engine;
  readonly app: ServiceHandle;
  /** Every JSON log line the service wrote. */
  readonly logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export interface StackOptions {
  readonly modelsDir?: string;
  readonly env?: Record<string, string>;
  readonly playground?: boolean;
  readonly metrics?: boolean;
  readonly metricsPort?: number;
  /** More ops settings (HOST, API_TOKEN, REQUEST_TIMEOUT_SECONDS, …). */
  readonly ops?: Partial<OpsConfig>;
}

export async function startStack(label: string, options: StackOptions = {}): Promise<Stack> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const log = createLogger({ level: 'debug', destination: sink });
  const db: TestDatabase = await createTestDatabase(label);
  const engine = await Engine.load({ modelsDir: options.modelsDir ?? 'test/fixtures', executionProvider: 'cpu', ...(options.modelsDir ? {} : { threads: 1 }) });
  const config = loadConfig({
    DATABASE_URL: db.url,
    PORT: '0',
    MIGRATE_ON_START: 'false',
    WORKER_POLL_MS: '100',
    // The worker's rate is the only one on progress the browser sees (production's is 250 ms).
    PROGRESS_MIN_INTERVAL_MS: '100',
    LIMIT_CONCURRENT_PER_USER: '8',
    LIMIT_PER_HOUR: '500',
    ...options.env,
  });
  const app = await startService({
    config,
    log,
    engine,
    catalog: engine,
    ops: { LOG_LEVEL: 'debug', PLAYGROUND: options.playground ?? true, METRICS: options.metrics ?? true, ...(options.metricsPort !== undefined ? { METRICS_PORT: options.metricsPort } : {}), ...options.ops },
  });
  return {
    url: `http://127.0.0.1:${app.port}`,
    engine,
    app,
    logs,
    async close() {
      await app.stop();
      await engine.close();
      await db.drop();
    },
  };
}
