/**
 * A database as an older release left it: a Prisma config that sees only the migrations up to and including
 * `last` (the repository's config pointed at another folder), so upgrade tests can build the old schema,
 * fill it with rows, and then run today's `migrateDeploy` over it.
 */
import { cp, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, runPrismaCli } from '../../../src/db/migrate.ts';

export const MIGRATIONS_DIR = join(PROJECT_ROOT, 'prisma/migrations');

/** The repository's migrations, oldest first. */
export async function migrationNames(): Promise<string[]> {
  return (await readdir(MIGRATIONS_DIR)).filter((n) => !n.endsWith('.toml')).sort();
}

/** Writes the config into a temporary folder and returns that folder (remove it afterwards). */
export async function oldMigrationsConfig(last: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ddpm-old-migrations-'));
  for (const name of await readdir(MIGRATIONS_DIR)) {
    if (name.endsWith('.toml') || name <= last) await cp(join(MIGRATIONS_DIR, name), join(dir, 'migrations', name), { recursive: true });
  }
  await cp(join(PROJECT_ROOT, 'prisma/schema.prisma'), join(dir, 'schema.prisma'));
  await writeFile(
    join(dir, 'prisma.config.ts'),
    `import base from ${JSON.stringify(join(PROJECT_ROOT, 'prisma.config.ts'))};\n` +
      `export default { ...base, schema: ${JSON.stringify(join(dir, 'schema.prisma'))}, migrations: { path: ${JSON.stringify(join(dir, 'migrations'))} } };\n`,
  );
  return dir;
}

/** Applies the migrations up to `last` to the database at `url`; returns the config folder to remove. */
export async function migrateUpTo(last: string, url: string): Promise<string> {
  const dir = await oldMigrationsConfig(last);
  await runPrismaCli(['migrate', 'deploy', '--config', join(dir, 'prisma.config.ts')], url);
  return dir;
}
