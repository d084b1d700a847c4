/**
 * Sampler options became data only (issue 16): a database built by the migrations before
 * `sampler_options_only`, holding requests with and without the old `eta` column set, is upgraded by
 * `migrateDeploy`; every eta ends up in `options` (an `options` value already stored wins), the column is
 * gone, and the service reads the options back; a queued row then runs with them.
 */
import { rm } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDeploy } from '../../src/db/migrate.ts';
import { startJobRuntime } from '../../src/jobs/runtime.ts';
import { ADMIN_URL, urlFor } from '../jobs/support/database.ts';
import { FakeEngine, fakeRender } from '../jobs/support/fake-engine.ts';
import { testConfig, testLog, waitFor } from '../jobs/support/runtime.ts';
import { migrateUpTo, migrationNames } from './support/old-migrations.ts';

const MIGRATION = '20261206100000_sampler_options_only';
const NAME = `ddpm_test_options_upgrade_${process.pid}`;
const url = urlFor(NAME);
let oldConfigDir: string;
let admin: pg.Client;
let client: pg.Client;

const ids = {
  etaOnly: '00000000-0000-4000-8000-000000000011',
  both: '00000000-0000-4000-8000-000000000012',
  disagree: '00000000-0000-4000-8000-000000000013',
  none: '00000000-0000-4000-8000-000000000014',
  noiseDemo: '00000000-0000-4000-8000-000000000015',
} as const;

async function insertOldRow(id: string, r: { kind?: string; status?: string; sampler: string | null; eta: number | null; options: object }): Promise<void> {
  await client.query(
    `INSERT INTO requests (id, kind, status, platform, user_id, user_key, model, sampler, steps, eta, seed, count, options, batch_key, reply_to,
       finished_at)
     VALUES ($1::uuid, $2::"RequestKind", $3::"RequestStatus", 'web', 'u', 'web::u', 'fake', $4, 2, $5, 7, 1, $6::jsonb, $7, 'null',
       CASE WHEN $3::text = 'succeeded' THEN now() END)`,
    [id, r.kind ?? 'generate', r.status ?? 'succeeded', r.sampler, r.eta, JSON.stringify(r.options), `key-${id}`],
  );
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${NAME}`);
  const previous = (await migrationNames()).filter((n) => n < MIGRATION);
  oldConfigDir = await migrateUpTo(previous.at(-1)!, url);
  client = new pg.Client({ connectionString: url });
  await client.connect();
  // Queued: a worker must run it with the eta it was asked for.
  await insertOldRow(ids.etaOnly, { status: 'queued', sampler: 'ddim', eta: 0.5, options: {} });
  await insertOldRow(ids.both, { sampler: 'ddim', eta: 0.25, options: { eta: 0.25, use_clipped_model_output: true } });
  await insertOldRow(ids.disagree, { sampler: 'ddim', eta: 0.9, options: { eta: 0.1 } });
  await insertOldRow(ids.none, { sampler: 'ddpm', eta: null, options: {} });
  await insertOldRow(ids.noiseDemo, { kind: 'noise_demo', sampler: null, eta: null, options: {} });
});

afterAll(async () => {
  await client?.end();
  await admin?.query(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`);
  await admin?.end();
  if (oldConfigDir) await rm(oldConfigDir, { recursive: true, force: true });
});

describe('migrating the eta column into options', () => {
  it('moves every eta into options, drops the column, and the service and worker read the options', async () => {
    expect(await migrateDeploy(url)).toContain(MIGRATION);
    const { rows } = await client.query(`SELECT id, options FROM requests ORDER BY id`);
    expect(rows).toEqual([
      { id: ids.etaOnly, options: { eta: 0.5 } },
      { id: ids.both, options: { eta: 0.25, use_clipped_model_output: true } },
      { id: ids.disagree, options: { eta: 0.1 } },
      { id: ids.none, options: {} },
      { id: ids.noiseDemo, options: {} },
    ]);
    const { rows: columns } = await client.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'requests' AND column_name = 'eta'`);
    expect(columns).toEqual([]);

    const engine = new FakeEngine();
    const rt = await startJobRuntime({ config: testConfig({ DATABASE_URL: url, ROLE: 'all' }), engine, render: fakeRender, log: testLog });
    try {
      expect((await rt.service.getRequest(ids.both))?.options).toEqual({ eta: 0.25, use_clipped_model_output: true });
      const done = await waitFor(async () => {
        const view = await rt.service.getRequest(ids.etaOnly);
        return view?.status === 'succeeded' ? view : null;
      }, 30_000, 100);
      expect(done.options).toEqual({ eta: 0.5 });
      expect(engine.generated.map((p) => p.options)).toEqual([{ eta: 0.5 }]);
    } finally {
      await rt.close();
    }
  });
});
