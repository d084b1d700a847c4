/**
 * Process configuration from the environment, validated once at start. Everything tunable about
 * the queue and limits is here so operators find it in one place (documented in the README).
 */
import { z } from 'zod';

const intFromEnv = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const boolFromEnv = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const configSchema = z.object({
  PORT: intFromEnv(3000, 0),
  /** Postgres connection string. Unset: embedded PGlite under DATA_DIR/pglite (single machine only). */
  DATABASE_URL: z
    .string()
    .url()
    .refine((u) => /^postgres(ql)?:/.test(u), 'must be a postgres:// or postgresql:// URL')
    .optional(),
  /** all: one process does everything; bot: adapters + HTTP only; worker: generation only. */
  ROLE: z.enum(['all', 'bot', 'worker']).default('all'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().min(1).default('./data'),
  /** Installed models; unset: the project's models/ folder. */
  MODELS_DIR: z.string().min(1).optional(),
  /** Sampler plugins; unset: the project's plugins/ folder. */
  PLUGINS_DIR: z.string().min(1).optional(),
  /** Same variables as the CLI: unset = cuda if installed, else webgpu, else cpu. */
  DDPM_EXECUTION_PROVIDER: z.enum(['cuda', 'webgpu', 'cpu']).optional(),
  /** ONNX intra-op threads per worker process; unset = onnxruntime's default (one per core). */
  DDPM_THREADS: z.coerce.number().int().min(1).optional(),

  /** Most queued+running requests one user may have. */
  LIMIT_CONCURRENT_PER_USER: intFromEnv(2, 1),
  /** Most requests one user may submit per rolling hour. */
  LIMIT_PER_HOUR: intFromEnv(30, 1),
  /** Most queued requests overall; beyond it everyone is asked to retry later. */
  LIMIT_QUEUE_CAP: intFromEnv(200, 1),

  /** Micro-batch size B: jobs with equal model/sampler/steps/options run as one ONNX batch. 1 disables batching. */
  BATCH_SIZE: intFromEnv(4, 1),
  /** How many batches one worker process runs at once (ONNX already uses all cores, so 1). */
  WORKER_CONCURRENCY: intFromEnv(1, 1),
  /**
   * Lease: a running job whose worker has not renewed it for this long is claimable by another
   * worker. Renewed by a heartbeat, so it bounds how long a dead worker's jobs wait, not how long a
   * batch may take.
   */
  JOB_EXPIRE_SECONDS: intFromEnv(30, 2),
  /** How often a running batch renews its leases; must be under half of JOB_EXPIRE_SECONDS so one late beat loses nothing. */
  JOB_HEARTBEAT_SECONDS: intFromEnv(10, 1),
  /** Attempts after the first before a request is failed (crash loops, repeated errors). */
  JOB_RETRY_LIMIT: intFromEnv(3, 0),
  /** Idle workers poll this often (they are also woken by NOTIFY on submit). */
  WORKER_POLL_MS: intFromEnv(1000, 50),
  /** On SIGTERM, running batches get this long to finish before they are aborted and requeued. */
  SHUTDOWN_GRACE_SECONDS: intFromEnv(20, 0),
  /** Minimum ms between progress preview writes per request (each is a row update + NOTIFY). */
  PROGRESS_MIN_INTERVAL_MS: intFromEnv(250, 0),
  /** Whether to render predicted-x0 previews at all. */
  PROGRESS_PREVIEWS: boolFromEnv(true),
  /** Behind a reverse proxy: identify web users by the first X-Forwarded-For address. */
  TRUST_PROXY: boolFromEnv(false),
  /** Whether to apply migrations at start (prisma migrate deploy). */
  MIGRATE_ON_START: boolFromEnv(true),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment; throws ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const { JOB_HEARTBEAT_SECONDS: beat, JOB_EXPIRE_SECONDS: lease } = parsed.data;
  // One late or failed beat must not lose a live worker's lease.
  if (beat * 2 >= lease) {
    throw new ConfigError(`invalid configuration:\n  JOB_HEARTBEAT_SECONDS: must be under half of JOB_EXPIRE_SECONDS (${lease}), got ${beat}`);
  }
  return parsed.data;
}
