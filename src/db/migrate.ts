/**
 * Applies prisma/migrations with Prisma's own tooling (`prisma migrate deploy`), run as a child
 * process of the bundled CLI so the app and operators use exactly the same path.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const require = createRequire(import.meta.url);
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function prismaCliPath(): string {
  return join(dirname(require.resolve('prisma/package.json')), 'build', 'index.js');
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

/** Runs `prisma <args>` against `databaseUrl`; resolves with its output, rejects with MigrationError. */
export async function runPrismaCli(args: string[], databaseUrl: string, timeoutMs = 120_000): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    // The CLI checks for a query engine library before commands it does not need it for; the
    // client engine ("engineType = client") never loads it, so any existing file satisfies it.
    PRISMA_QUERY_ENGINE_LIBRARY: process.env.PRISMA_QUERY_ENGINE_LIBRARY ?? join(PROJECT_ROOT, 'package.json'),
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  };
  return await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [prismaCliPath(), ...args], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new MigrationError(`could not start prisma: ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new MigrationError(`prisma ${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}

/**
 * The migrations in prisma/migrations that the database has not applied (all of them when it has no
 * `_prisma_migrations` table). A migration Prisma recorded as failed or rolled back counts as pending,
 * so `migrate deploy` still reports it.
 */
export async function pendingMigrations(databaseUrl: string): Promise<string[]> {
  const entries = await readdir(join(PROJECT_ROOT, 'prisma', 'migrations'), { withFileTypes: true });
  const shipped = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: table } = await client.query<{ found: string | null }>(`SELECT to_regclass('_prisma_migrations')::text AS found`);
    if (!table[0]?.found) return shipped;
    const { rows } = await client.query<{ migration_name: string }>(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    const applied = new Set(rows.map((r) => r.migration_name));
    return shipped.filter((name) => !applied.has(name));
  } finally {
    await client.end();
  }
}

/**
 * Brings the database to the latest migration and returns the migrations that were pending. Idempotent;
 * safe to run from several processes (Prisma takes an advisory lock). An up-to-date database skips the
 * Prisma CLI, which costs 15-18 s of start-up on a 2-core host even when there is nothing to do.
 */
export async function migrateDeploy(databaseUrl: string): Promise<string[]> {
  const pending = await pendingMigrations(databaseUrl);
  if (pending.length > 0) await runPrismaCli(['migrate', 'deploy'], databaseUrl);
  return pending;
}
