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
import { connectDatabase, type Database } from '../../src/db/client.ts';
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

  it('closing the database does not wait for a connection that died while checked out', async () => {
    const own = connectDatabase(tdb.url);
    await expect(killedPrismaTransaction(own)).rejects.toThrow();
    const closed = await Promise.race([own.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('still waiting'), 10_000))]);
    expect(closed).toBe('closed');
  });
});
