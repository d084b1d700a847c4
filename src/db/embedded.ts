/**
 * The zero-setup database: PGlite (Postgres compiled to WebAssembly) stored under DATA_DIR,
 * served on a loopback port by pglite-socket so Prisma and `prisma migrate deploy` reach
 * it through the ordinary pg wire protocol. It is one Postgres session behind a query queue, so the
 * process keeps a single pooled connection (see src/db/client.ts) and cannot share it with other
 * processes: ROLE=all only.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts PGlite in `dataDir/pglite` (created if missing) behind a socket on 127.0.0.1 (random port).
 * A few connections are accepted because `migrate deploy` connects from a child process while the app is not yet connected.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const dir = resolve(join(dataDir, 'pglite'));
  await mkdir(dir, { recursive: true });
  const db = await PGlite.create(dir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
  await server.start();
  const conn = server.getServerConn();
  const url = `postgresql://postgres@${conn}/postgres?sslmode=disable`;
  return {
    url,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
