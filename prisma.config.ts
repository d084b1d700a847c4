/**
 * Prisma CLI configuration. The CLI uses its bundled WebAssembly schema engine (`engine: "js"`)
 * through a pg driver adapter, so `prisma generate`, `migrate deploy` and `migrate status` work
 * without downloading native engines. DATABASE_URL selects the database; the shadow database for
 * `migrate dev` is SHADOW_DATABASE_URL or "<db>_shadow" on the same server.
 */
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { CatalogFriendlyClient } from './src/db/pg-compat.ts';

function poolConfig(url: string): pg.PoolConfig {
  // Discrete parameters, not connectionString: the adapter derives the shadow database by
  // overriding `database`, which a connectionString would silently win over.
  const u = new URL(url);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || undefined,
    Client: CatalogFriendlyClient,
    // One connection: the embedded PGlite server is a single session (see src/db/embedded.ts).
    max: 1,
  };
}

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  engine: 'js',
  experimental: { adapter: true },
  async adapter() {
    const url = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
    return new PrismaPg(poolConfig(url));
  },
});
