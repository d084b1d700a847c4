/**
 * Existing databases migrate forward with their data: a database built with the migrations of
 * 2026-12-06 (pg-boss era: queue_name, boss_job_id, a "pgboss" schema) holding requests in every
 * state is upgraded by `prisma migrate deploy`; every row, image and attempt survives, pg-boss's
 * schema is gone, and a worker then runs what was queued or left running.
 */
import { rm } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDeploy, pendingMigrations } from '../../src/db/migrate.ts';
import { startJobRuntime } from '../../src/jobs/runtime.ts';
import { ADMIN_URL, urlFor } from '../jobs/support/database.ts';
import { FakeEngine, fakeRender } from '../jobs/support/fake-engine.ts';
import { testConfig, testLog, waitFor } from '../jobs/support/runtime.ts';
import { migrateUpTo, migrationNames } from './support/old-migrations.ts';

/** The last migration before requests became the queue. */
const LAST_OLD_MIGRATION = '20261206050000_request_label_guidance';
const NAME = `ddpm_test_upgrade_${process.pid}`;
const url = urlFor(NAME);
let oldConfigDir: string;
let admin: pg.Client;
let client: pg.Client;

const ids = {
  queued: '00000000-0000-4000-8000-000000000001',
  running: '00000000-0000-4000-8000-000000000002',
  succeeded: '00000000-0000-4000-8000-000000000003',
  failed: '00000000-0000-4000-8000-000000000004',
  cancelled: '00000000-0000-4000-8000-000000000005',
  cancelling: '00000000-0000-4000-8000-000000000006',
} as const;

async function insertOldRow(id: string, status: string, extra: { attempts?: number; worker?: string; cancel?: boolean } = {}): Promise<void> {
  await client.query(
    `INSERT INTO requests (id, kind, status, platform, user_id, user_key, model, sampler, steps, seed, count, options, batch_key, queue_name, boss_job_id,
       reply_to, attempts, worker_id, cancel_requested, started_at, finished_at)
     VALUES ($1, 'generate', $2::"RequestStatus", 'discord', 'u', 'discord::u', 'fake', 'ddim', 2, 4242, 1, '{}', 'k', 'gen-0123', $1,
       '{"token": "t"}', $3, $4, $5, CASE WHEN $2 <> 'queued' THEN now() END, CASE WHEN $2 IN ('succeeded', 'failed', 'cancelled') THEN now() END)`,
    [id, status, extra.attempts ?? 0, extra.worker ?? null, extra.cancel ?? false],
  );
  if ((extra.attempts ?? 0) > 0) {
    await client.query(`INSERT INTO request_attempts (request_id, attempt, worker_id, batch_id, outcome) VALUES ($1, 1, 'old-worker', $1, $2)`, [
      id,
      status === 'running' ? null : status,
    ]);
  }
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${NAME}`);
  oldConfigDir = await migrateUpTo(LAST_OLD_MIGRATION, url);
  client = new pg.Client({ connectionString: url });
  await client.connect();
  await insertOldRow(ids.queued, 'queued');
  await insertOldRow(ids.running, 'running', { attempts: 1, worker: 'old-worker' });
  await insertOldRow(ids.succeeded, 'succeeded', { attempts: 1, worker: 'old-worker' });
  await client.query(`INSERT INTO request_images (request_id, index, content_type, data, bytes, sha256) VALUES ($1, 0, 'image/png', '\\x89504e47', 4, 'abc')`, [ids.succeeded]);
  await insertOldRow(ids.failed, 'failed', { attempts: 1, worker: 'old-worker' });
  await insertOldRow(ids.cancelled, 'cancelled');
  await insertOldRow(ids.cancelling, 'running', { attempts: 1, worker: 'old-worker', cancel: true });
  // What pg-boss kept beside the rows: its schema, a job table and one partition per queue.
  await client.query(`CREATE SCHEMA pgboss; CREATE TABLE pgboss.job (id uuid, name text); CREATE TABLE pgboss.j0123 (id uuid)`);
});

afterAll(async () => {
  await client?.end();
  await admin?.query(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`);
  await admin?.end();
  if (oldConfigDir) await rm(oldConfigDir, { recursive: true, force: true });
});

describe('migrating a pg-boss era database', () => {
  it('keeps every request, image and attempt, drops pg-boss, and the queue runs what was left', async () => {
    const before = await client.query(`SELECT id, status::text, seed::text, reply_to, attempts FROM requests ORDER BY id`);
    const newer = (await migrationNames()).filter((n) => n > LAST_OLD_MIGRATION);
    expect(newer.length).toBeGreaterThan(0);
    expect(await pendingMigrations(url)).toEqual(newer);
    expect(await migrateDeploy(url)).toEqual(newer);
    expect(await pendingMigrations(url)).toEqual([]);
    const after = await client.query(`SELECT id, status::text, seed::text, reply_to, attempts FROM requests ORDER BY id`);
    expect(after.rows).toEqual(before.rows);
    const { rows: leases } = await client.query(`SELECT id, lease_expires_at <= now() AS expired FROM requests WHERE lease_expires_at IS NOT NULL ORDER BY id`);
    expect(leases).toEqual([
      { id: ids.running, expired: true },
      { id: ids.cancelling, expired: true },
    ]);
    const { rows: image } = await client.query(`SELECT data FROM request_images WHERE request_id = $1`, [ids.succeeded]);
    expect(image[0].data).toEqual(Buffer.from('89504e47', 'hex'));
    const { rows: schemas } = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'pgboss'`);
    expect(schemas).toEqual([]);
    const { rows: columns } = await client.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'requests' AND column_name IN ('queue_name', 'boss_job_id')`);
    expect(columns).toEqual([]);

    const rt = await startJobRuntime({ config: testConfig({ DATABASE_URL: url, ROLE: 'worker' }), engine: new FakeEngine(), render: fakeRender, log: testLog });
    try {
      await waitFor(async () => {
        const { rows } = await client.query(`SELECT count(*)::int AS n FROM requests WHERE status IN ('queued', 'running')`);
        return rows[0].n === 0;
      }, 30_000, 100);
    } finally {
      await rt.close();
    }
    const { rows: final } = await client.query(`SELECT id, status::text FROM requests ORDER BY id`);
    expect(final).toEqual([
      { id: ids.queued, status: 'succeeded' },
      { id: ids.running, status: 'succeeded' },
      { id: ids.succeeded, status: 'succeeded' },
      { id: ids.failed, status: 'failed' },
      { id: ids.cancelled, status: 'cancelled' },
      { id: ids.cancelling, status: 'cancelled' },
    ]);
    const { rows: attempts } = await client.query(`SELECT attempt, worker_id = 'old-worker' AS old, outcome FROM request_attempts WHERE request_id = $1 ORDER BY attempt`, [ids.running]);
    expect(attempts).toEqual([
      { attempt: 1, old: true, outcome: 'expired' },
      { attempt: 2, old: false, outcome: 'succeeded' },
    ]);
  });
});
