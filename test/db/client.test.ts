/**
 * src/db/client.ts on the real Postgres.
 *
 * The pool shared by Prisma and raw SQL must get back every connection, also one that
 * died while checked out: Prisma's transaction manager sends ROLLBACK before it releases the
 * connection and skips the release when ROLLBACK fails, so a server restart in the middle of a
 * read with `include` (an internal transaction) used to keep a pool slot forever, and
 * `pool.end()` (shutdown) waited for it forever.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, withTransaction, type Database } from '../../src/db/client.ts';
import { createTestDatabase, type TestDatabase } from '../jobs/support/database.ts';
import { waitFor } from '../jobs/support/runtime.ts';

let tdb: TestDatabase;
let db: Database;
let admin: pg.Client;

beforeAll(async () => {
  tdb = await createTestDatabase('pool');
  db = connectDatabase(tdb.url);
  admin = new pg.Client({ connectionString: tdb.url });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await db?.close();
  await tdb?.drop();
});

const checkedOut = () => db.pool.totalCount - db.pool.idleCount;
const terminate = (pid: number) => admin.query('SELECT pg_terminate_backend($1)', [pid]);
/** A Prisma transaction whose backend is killed between its two queries. */
const killedPrismaTransaction = (database: Database) =>
  database.prisma.$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
    await terminate(row!.pid);
    await tx.$queryRaw`SELECT 1`;
  });

describe('connections lost while checked out', () => {
  it('a Prisma transaction whose connection is killed gives its pool slot back', async () => {
    await expect(killedPrismaTransaction(db)).rejects.toThrow();
    await waitFor(async () => checkedOut() === 0, 5000).catch(() => {
      throw new Error(`${checkedOut()} connection(s) still checked out after the transaction failed`);
    });
    const { rows } = await db.pool.query<{ one: number }>('SELECT 1 AS one');
    expect(rows[0]!.one).toBe(1);
  });

  it('withTransaction: a connection killed between its queries fails the call, not the process, and comes back', async () => {
    const failed = withTransaction(db.pool, async (client) => {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await terminate(rows[0]!.pid);
      await client.query('SELECT 1');
    });
    await expect(failed).rejects.toThrow();
    expect(checkedOut()).toBe(0);
  });

  it('closing the database does not wait for a connection that died while checked out', async () => {
    const own = connectDatabase(tdb.url);
    await expect(killedPrismaTransaction(own)).rejects.toThrow();
    const closed = await Promise.race([own.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('still waiting'), 10_000))]);
    expect(closed).toBe('closed');
  });
});

describe('withTransaction with a lock key', () => {
  const lockWaiters = async (granted: boolean) => {
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [granted],
    );
    return rows[0]!.n;
  };

  it('starts the second holder\'s transaction after the first one ends, so now() follows the lock order', async () => {
    let letFirstFinish!: () => void;
    const firstMayFinish = new Promise<void>((r) => (letFirstFinish = r));
    const first = withTransaction(
      db.pool,
      async (c) => {
        await firstMayFinish;
        const { rows } = await c.query<{ t: Date }>('SELECT clock_timestamp() AS t');
        return rows[0]!.t;
      },
      { lockKey: 'user:1' },
    );
    await waitFor(async () => (await lockWaiters(true)) === 1, 10_000);
    const second = withTransaction(
      db.pool,
      async (c) => (await c.query<{ t: Date }>('SELECT now() AS t')).rows[0]!.t,
      { lockKey: 'user:1' },
    );
    await waitFor(async () => (await lockWaiters(false)) === 1, 10_000);
    letFirstFinish();
    const [firstEnd, secondStart] = await Promise.all([first, second]);
    expect(secondStart.getTime()).toBeGreaterThan(firstEnd.getTime());
    expect(await lockWaiters(true)).toBe(0);
    expect(checkedOut()).toBe(0);
  });

  it('unlocks when the transaction throws', async () => {
    await expect(withTransaction(db.pool, async () => Promise.reject(new Error('boom')), { lockKey: 'user:2' })).rejects.toThrow('boom');
    expect(await lockWaiters(true)).toBe(0);
    const again = await withTransaction(db.pool, async (c) => (await c.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, { lockKey: 'user:2' });
    expect(again).toBe(1);
  });
});
