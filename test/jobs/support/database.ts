/**
 * Test databases on the real Postgres (127.0.0.1:5432 unless TEST_PG_URL): each test file gets a
 * uniquely named database, cloned from a template migrated once with `prisma migrate deploy`
 * (keyed by the migrations' hash, so a changed schema gets a fresh template), and dropped after.
 * The template `ddpm_tmpl_<hash>` is kept as a cache; it is never dropped automatically because
 * test runs of other branches may be cloning it at the same moment.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { migrateDeploy, PROJECT_ROOT } from '../../../src/db/migrate.ts';

export const ADMIN_URL = process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export function urlFor(database: string, base = ADMIN_URL): string {
  const u = new URL(base);
  u.pathname = `/${database}`;
  return u.toString();
}

function migrationsHash(): string {
  const dir = join(PROJECT_ROOT, 'prisma', 'migrations');
  const h = createHash('sha1');
  for (const name of readdirSync(dir).sort()) {
    if (name.endsWith('.toml')) continue;
    h.update(name);
    h.update(readFileSync(join(dir, name, 'migration.sql')));
  }
  return h.digest('hex').slice(0, 12);
}

async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>, base = ADMIN_URL): Promise<T> {
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Creates (once per migration set) the migrated template database. */
async function ensureTemplate(base: string): Promise<string> {
  const name = `ddpm_tmpl_${migrationsHash()}`;
  await withAdmin(async (c) => {
    // Serialise test files racing to build the same template.
    await c.query('SELECT pg_advisory_lock(hashtext($1))', [name]);
    try {
      const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (rowCount === 0) {
        const building = `${name}_building_${randomBytes(3).toString('hex')}`;
        await c.query(`CREATE DATABASE ${building}`);
        try {
          await migrateDeploy(urlFor(building, base));
        } catch (err) {
          await c.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
          throw err;
        }
        await c.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
      }
    } finally {
      await c.query('SELECT pg_advisory_unlock(hashtext($1))', [name]);
    }
  }, base);
  return name;
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(label: string, base = ADMIN_URL): Promise<TestDatabase> {
  const template = await ensureTemplate(base);
  const name = `ddpm_test_${label}_${randomBytes(4).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`), base);
  return {
    name,
    url: urlFor(name, base),
    async drop() {
      await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`), base).catch(() => undefined);
    },
  };
}
