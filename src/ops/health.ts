/**
 * GET /healthz: the database answers, the queue is reachable, the model sessions load. Each check
 * is a small async function supplied by src/main.ts (so this module knows no driver), run in
 * parallel with a timeout. 200 when every check passes, 503 otherwise, JSON body either way.
 */
import type { OpsQueries } from '../db/ops-queries.ts';

export interface CheckOutcome {
  readonly ok: boolean;
  readonly ms: number;
  /** Why it failed (message only; no stack, no connection string). */
  readonly error?: string;
  /** What the check found, e.g. { queued: 3 } or { models: ['cifar10'], loaded: ['cifar10'] }. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface HealthReport {
  readonly status: 'ok' | 'unhealthy';
  readonly uptimeSeconds: number;
  readonly checks: Readonly<Record<string, CheckOutcome>>;
}

/** Resolves with optional details when healthy; throws (or rejects) when not. */
export type HealthCheck = () => Promise<Record<string, unknown> | void>;

export interface HealthOptions {
  readonly timeoutMs?: number;
}

const startedAt = Date.now();

export class Health {
  private readonly checks = new Map<string, HealthCheck>();
  private readonly timeoutMs: number;

  constructor(options: HealthOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 3000;
  }

  /** Adds (or replaces) a named check: "database", "queue", "models", ... */
  register(name: string, check: HealthCheck): this {
    this.checks.set(name, check);
    return this;
  }

  async report(): Promise<HealthReport> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => [name, await this.run(check)] as const),
    );
    const checks = Object.fromEntries(entries);
    return {
      status: entries.every(([, c]) => c.ok) ? 'ok' : 'unhealthy',
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      checks,
    };
  }

  private async run(check: HealthCheck): Promise<CheckOutcome> {
    const began = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      const details = await Promise.race([Promise.resolve().then(check), timeout]);
      const ms = Math.round(performance.now() - began);
      return details && Object.keys(details).length > 0 ? { ok: true, ms, details } : { ok: true, ms };
    } catch (error) {
      return { ok: false, ms: Math.round(performance.now() - began), error: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The database's side of the checks: src/db/ops-queries.ts. */
export type { OpsQueries };

/** One round trip to the database. */
export function databaseCheck(db: OpsQueries): HealthCheck {
  return () => db.ping();
}

/** Queued and running request counts (from the requests table): proves the queue's tables answer. */
export function queueCheck(db: OpsQueries): HealthCheck {
  return async () => ({ ...(await db.queueCounts()) });
}

/** The queued count alone, for the ddpm_queue_depth gauge. */
export function queueDepth(db: OpsQueries): () => Promise<number> {
  return async () => (await db.queueCounts()).queued;
}

/** What the models check needs from the engine (the real Engine fits). */
export interface ModelSessions {
  readonly models: { list(): readonly { readonly name: string }[] };
  denoiser(model: string): Promise<{ readonly provider: string }>;
}

/**
 * Every installed model's ONNX session loads (first call loads it; later calls are cached by the
 * engine, so this is cheap after warm-up). Fails when no model is installed.
 */
export function modelsCheck(engine: ModelSessions): HealthCheck {
  return async () => {
    const names = engine.models.list().map((m) => m.name);
    if (names.length === 0) throw new Error('no models are installed (see MODELS_DIR)');
    const providers: Record<string, string> = {};
    for (const name of names) providers[name] = (await engine.denoiser(name)).provider;
    return { models: names, providers };
  };
}
