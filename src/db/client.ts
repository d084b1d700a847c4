/**
 * One pg.Pool per process, under Prisma (through @prisma/adapter-pg, which runs all the
 * application's SQL: src/db/*-store.ts, and the event bus's NOTIFYs in src/db/notify-channel.ts).
 * The embedded PGlite socket multiplexes connections onto a single backend session and therefore
 * gets a pool of one.
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
  /** Called for errors on pooled connections (e.g. Postgres restarting); the pool replaces them. */
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
  const onPoolError = (err: Error) => options.onPoolError?.(err);
  pool.on('error', onPoolError);
  releaseDeadCheckouts(pool, onPoolError);
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

/**
 * A connection that dies while checked out (Postgres restarting) must still come back to the pool.
 * Prisma's transaction manager sends ROLLBACK before it releases its connection and skips the
 * release when ROLLBACK fails, so such a connection would hold its slot forever and `pool.end()`
 * would wait for it forever. A checked-out client also needs an 'error' listener: pg emits the
 * server's FATAL there when no query is running, and unheard it would crash the process.
 */
function releaseDeadCheckouts(pool: pg.Pool, onError: (err: Error) => void): void {
  const endListeners = new WeakMap<pg.PoolClient, () => void>();
  pool.on('acquire', (client) => {
    const end = () => {
      const release = client.release;
      // The holder may still release it later; by then that must be a no-op, not a double release.
      client.release = () => undefined;
      release(new Error('connection closed while checked out'));
    };
    endListeners.set(client, end);
    client.on('error', onError);
    client.once('end', end);
  });
  pool.on('release', (_err, client) => {
    const end = endListeners.get(client);
    if (!end) return;
    endListeners.delete(client);
    client.off('error', onError);
    client.off('end', end);
  });
}

/**
 * For Prisma's interactive transactions: its defaults (2 s to get a connection, 5 s to finish) are
 * too tight for the embedded database's single connection under load, or a submit that decodes an
 * upload; a transaction that waits is still correct.
 */
export const TX_OPTIONS = { maxWait: 10_000, timeout: 30_000 } as const;
