/**
 * Applies prisma/migrations with Prisma's own tooling (`prisma migrate deploy`), run as a child
 * process of the bundled CLI so the app and operators use exactly the same path.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** Brings the database to the latest migration. Idempotent; safe to run from several processes (Prisma takes an advisory lock). */
export async function migrateDeploy(databaseUrl: string): Promise<void> {
  await runPrismaCli(['migrate', 'deploy'], databaseUrl);
}
