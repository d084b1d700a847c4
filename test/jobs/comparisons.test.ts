import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runComparison, type ComparisonFront } from '../../src/jobs/compare.ts';
import { ComparisonRunner } from '../../src/jobs/comparisons.ts';
import { startJobRuntime, type JobRuntime } from '../../src/jobs/runtime.ts';
import type { GenerationService } from '../../src/jobs/service.ts';
import type { Json, Requester } from '../../src/jobs/types.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { FakeEngine, fakeRender } from './support/fake-engine.ts';
import { testConfig, testLog, waitFor } from './support/runtime.ts';

let db: TestDatabase;
let rt: JobRuntime;
const requester: Requester = { platform: 'slack', workspaceId: 'T1', channelId: 'C1', userId: 'U1' };

/** A front that records the table's rows and says every run is submitted. */
function recordingFront(tables: string[][]): ComparisonFront {
  return {
    table: async (_title, rows) => void tables.push(rows.map((r) => r.sampler)),
    openRun: async (_params, index) => ({ channel: 'C1', dedupeKey: `run:${index}` }),
    submitted: async () => undefined,
    notRun: async () => undefined,
  };
}

beforeAll(async () => {
  db = await createTestDatabase('comparisons');
  rt = await startJobRuntime({ config: testConfig({ DATABASE_URL: db.url, LIMIT_PER_HOUR: 1000, LIMIT_CONCURRENT_PER_USER: 1000 }), engine: new FakeEngine({ stepMs: 1 }), render: fakeRender, log: testLog });
});

afterAll(async () => {
  await rt?.close();
  await db?.drop();
});

describe('comparisons started by a chat gesture', () => {
  it('a gesture delivered to two processes at once starts one comparison: one table, each run submitted once', async () => {
    const tables: string[][] = [];
    const processes = [0, 1].map(() => new ComparisonRunner(rt.service, 'slack', () => recordingFront(tables), testLog));
    const runs = ['ddim', 'ddpm'].map((sampler) => rt.service.checkGeneration({ model: 'fake', sampler, steps: 2, seed: 9 }));
    let opened = 0;
    const openTable = async (): Promise<Json> => {
      opened++;
      await new Promise((r) => setTimeout(r, 50)); // posting takes a while: the other delivery arrives meanwhile
      return { table: 'posted' };
    };
    const started = await Promise.all(processes.map((p) => p.begin(requester, runs, 'command:trigger-1', openTable)));
    expect(started.sort()).toEqual([false, true]);
    expect(opened).toBe(1);
    const { rows } = await rt.db.pool.query<{ gesture: string; target: Json; requests: number }>(
      `SELECT gesture, target, (SELECT count(*)::int FROM requests WHERE seed = 9) AS requests FROM comparisons`,
    );
    await waitFor(async () => (await rt.db.pool.query(`SELECT 1 FROM comparisons WHERE finished_at IS NOT NULL`)).rowCount === 1);
    expect(rows).toMatchObject([{ gesture: 'command:trigger-1', target: { table: 'posted' } }]);
    expect((await rt.db.pool.query(`SELECT sampler FROM requests WHERE seed = 9 ORDER BY sampler`)).rows).toEqual([{ sampler: 'ddim' }, { sampler: 'ddpm' }]);
    await Promise.all(processes.map((p) => p.stop()));
  });

  it('a table that cannot be made ends the comparison before any run is submitted; the same gesture on another platform is its own', async () => {
    const runner = new ComparisonRunner(rt.service, 'slack', () => recordingFront([]), testLog);
    const runs = [rt.service.checkGeneration({ model: 'fake', sampler: 'ddim', steps: 2, seed: 10 })];
    expect(await runner.begin(requester, runs, 'command:trigger-2', async () => null)).toBe(true);
    const discord = new ComparisonRunner(rt.service, 'discord', () => null, testLog);
    expect(await discord.begin({ ...requester, platform: 'discord' }, runs, 'command:trigger-2', async () => null)).toBe(true);
    const { rows } = await rt.db.pool.query(`SELECT platform::text, finished_at IS NOT NULL AS finished FROM comparisons WHERE gesture = 'command:trigger-2' ORDER BY platform`);
    expect(rows).toEqual([{ platform: 'discord', finished: true }, { platform: 'slack', finished: true }]);
    expect((await rt.db.pool.query(`SELECT 1 FROM requests WHERE seed = 10`)).rowCount).toBe(0);
    await Promise.all([runner.stop(), discord.stop()]);
  });

  it('a run the service could not take (its database connection cut) is submitted again, not recorded as refused', async () => {
    let failures = 2;
    const submitGeneration: GenerationService['submitGeneration'] = async (input) => {
      if (failures-- > 0) throw new Error('Connection terminated unexpectedly');
      return rt.service.submitGeneration(input);
    };
    // The real service, but for its first two submissions.
    const service = new Proxy(rt.service, {
      get: (target, prop) => (prop === 'submitGeneration' ? submitGeneration : (Reflect.get(target, prop, target) as unknown)),
    });
    const runs = [rt.service.checkGeneration({ model: 'fake', sampler: 'ddim', steps: 2, seed: 11 })];
    const { rows, finished } = await runComparison({ service, requester, runs, front: recordingFront([]) });
    expect(finished).toBe(true);
    expect(failures).toBe(-1);
    expect(rows).toEqual([{ sampler: 'ddim', steps: 2, seconds: expect.any(Number) }]);
  });
});
