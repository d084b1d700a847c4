/**
 * One pg.Pool per process, shared by Prisma (through @prisma/adapter-pg), pg-boss (through its
 * `db` option) and raw transactional SQL. Sharing matters for the embedded PGlite socket, which
 * multiplexes connections onto a single backend session and therefore gets a pool of one.
 */
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client.ts';

export type Prisma = InstanceType<typeof PrismaClient>;

export interface Database {
  readonly url: string;
  readonly pool: pg.Pool;
  readonly prisma: Prisma;
  /** True for the embedded PGlite server: one session, so no cross-process NOTIFY and no second process. */
  readonly embedded: boolean;
  close(): Promise<void>;
}

export interface ConnectOptions {
  readonly maxConnections?: number;
  readonly embedded?: boolean;
  readonly applicationName?: string;
  /** Called for errors on idle connections (e.g. Postgres restarting); the pool replaces them. */
  readonly onPoolError?: (err: Error) => void;
}

export function connectDatabase(url: string, options: ConnectOptions = {}): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.embedded ? 1 : (options.maxConnections ?? 10),
    application_name: options.applicationName ?? 'ddpm-bot',
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // Without a listener, an idle client's error (server restart) would crash the process.
  pool.on('error', (err) => options.onPoolError?.(err));
  const adapter = new PrismaPg(pool, { disposeExternalPool: false });
  const prisma = new PrismaClient({ adapter });
  let closed = false;
  return {
    url,
    pool,
    prisma,
    embedded: options.embedded ?? false,
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect().catch(() => undefined);
      await pool.end().catch(() => undefined);
    },
  };
}

/** Runs `fn` inside BEGIN/COMMIT on one pooled client (ROLLBACK on throw). */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
