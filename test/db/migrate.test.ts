/**
 * Start-up migrations: a fresh database gets every shipped migration through Prisma's CLI, and an
 * up-to-date one is recognised without it (the CLI costs seconds on every start).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDeploy, pendingMigrations, PROJECT_ROOT } from '../../src/db/migrate.ts';
import { ADMIN_URL, urlFor } from '../jobs/support/database.ts';

const NAME = `ddpm_migrate_${process.pid}`;
const url = urlFor(NAME);
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${NAME}`);
});

afterAll(async () => {
  await admin?.query(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`);
  await admin?.end();
});

describe('migrateDeploy', () => {
  it('applies every migration to a fresh database, then finds nothing pending', async () => {
    const shipped = (await readdir(join(PROJECT_ROOT, 'prisma/migrations'), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    expect(await pendingMigrations(url)).toEqual(shipped);
    expect(await migrateDeploy(url)).toEqual(shipped);
    expect(await pendingMigrations(url)).toEqual([]);
    expect(await migrateDeploy(url)).toEqual([]);
  });

  it('counts a migration Prisma recorded as failed as pending, so the CLI reports it', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ migration_name: string }>('SELECT migration_name FROM _prisma_migrations ORDER BY migration_name DESC LIMIT 1');
      const last = rows[0]!.migration_name;
      await client.query('UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = $1', [last]);
      expect(await pendingMigrations(url)).toEqual([last]);
      await expect(migrateDeploy(url)).rejects.toThrow(/prisma migrate deploy exited/);
    } finally {
      await client.end();
    }
  });
});
