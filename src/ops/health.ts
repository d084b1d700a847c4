/**
 * GET /healthz: the database answers, the queue is reachable, the model sessions load. Each check
 * is a small async function supplied by src/main.ts (so this module knows no driver), run in
 * parallel with a timeout. 200 when every check passes, 503 otherwise, JSON body either way.
 */

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

/** Anything with pg's `query` (a pg.Pool, a PoolClient). */
export interface Queryable {
  query(sql: string): Promise<{ rows: unknown[] }>;
}

/** `SELECT 1` on the pool. */
export function databaseCheck(db: Queryable): HealthCheck {
  return async () => {
    await db.query('SELECT 1');
  };
}

/** Queued and running request counts (from the requests table): proves the queue's tables answer. */
export function queueCheck(db: Queryable): HealthCheck {
  return async () => {
    const { rows } = await db.query(
      "SELECT count(*) FILTER (WHERE status = 'queued')::int AS queued, count(*) FILTER (WHERE status = 'running')::int AS running FROM requests",
    );
    const row = (rows[0] ?? {}) as { queued?: number; running?: number };
    return { queued: Number(row.queued ?? 0), running: Number(row.running ?? 0) };
  };
}

/** The queued count alone, for the ddpm_queue_depth gauge. */
export function queueDepth(db: Queryable): () => Promise<number> {
  return async () => {
    const { rows } = await db.query("SELECT count(*)::int AS n FROM requests WHERE status = 'queued'");
    return Number((rows[0] as { n?: number } | undefined)?.n ?? 0);
  };
}

/** Requests by platform, kind and status, for the ddpm_requests gauge. */
export function requestCounts(db: Queryable): () => Promise<Array<{ platform: string; kind: string; status: string; count: number }>> {
  return async () => {
    const { rows } = await db.query('SELECT platform::text AS platform, kind::text AS kind, status::text AS status, count(*)::int AS count FROM requests GROUP BY 1, 2, 3');
    return (rows as Array<{ platform: string; kind: string; status: string; count: number }>).map((r) => ({ ...r, count: Number(r.count) }));
  };
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
