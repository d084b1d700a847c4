/**
 * Issue 19's Postgres restart, seen from Slack: the server (a private one: the shared instance other
 * tests use is never restarted) stops and starts again while a /generate is running. The service
 * reconnects and the job still ends with one upload of the engine's image and one final edit of
 * the status message, as after an uninterrupted run: no second status, result or failure message.
 * Real Bolt against the fake Slack API, the real service and engine on the shipped mnist model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchPng, upscalePng } from '../../../src/render/index.ts';
import { requestIdOf } from '../../fakes/slack/fake-slack-api.ts';
import { startPrivatePostgres, type PrivatePostgres } from '../../jobs/support/private-postgres.ts';
import type { Harness } from './support/harness.ts';
import { deliveriesSettled, startHarness } from './support/harness.ts';

let server: PrivatePostgres;
let h: Harness;

beforeAll(async () => {
  server = await startPrivatePostgres();
  // mnist: a DDPM-1000 job takes seconds, so the restart lands while it runs (the tiny fixture takes 0.2 s).
  h = await startHarness({ label: 'slack_pg_restart', modelsDir: 'models', adminUrl: server.adminUrl });
}, 300_000);

afterAll(async () => {
  await h?.close();
  await server?.destroy();
});

describe('Slack: Postgres restarting while a job runs', () => {
  it('still uploads the image once and finishes the status message once', async () => {
    const channel = 'C0PGRESTART';
    const seed = 1921;
    await h.command('/generate', `model:mnist sampler:ddpm steps:1000 seed:${seed}`, { channel, user: 'U0PG' });
    const status = await h.fake.waitFor(() => h.fake.messages.find((m) => m.channel === channel && m.edits.some((e) => e.includes(' · step '))), 120_000, 'a progress edit');

    await server.stop();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await server.start();
    const restartedAt = Date.now();

    const upload = await h.fake.waitFor(() => h.fake.uploadsIn(channel)[0], 180_000, 'the image after the restart');
    const uploadedMs = Date.now() - restartedAt;
    await h.fake.waitFor(() => status.text.includes(' · done'), 10_000, 'the status message finished');
    const id = requestIdOf(upload);
    const attempts = await h.handle.runtime.db.pool.query<{ outcome: string | null }>('SELECT outcome FROM request_attempts WHERE request_id = $1 ORDER BY started_at', [id]);
    process.stdout.write(
      `[recovery] slack, Postgres restarted mid-job: image uploaded ${uploadedMs} ms after the server was back; attempts: ${attempts.rows.map((r) => r.outcome ?? 'running').join(', ')}\n`,
    );
    // Nothing left in this process that could still post a second reply.
    await deliveriesSettled(h.logs, id, Date.now(), { platformEvent: true });

    expect(h.fake.uploadsIn(channel)).toHaveLength(1);
    const expected = await h.engine.generate(h.engine.validate({ model: 'mnist', sampler: 'ddpm', steps: 1000, seed }));
    expect(upload.files[0]!.bytes.equals(await upscalePng(await batchPng(expected.images)))).toBe(true);
    expect(h.fake.callsOf('chat.postMessage').filter((c) => c.args['channel'] === channel)).toHaveLength(1);
    expect(h.fake.messages.filter((m) => m.channel === channel)).toEqual([status]);
    expect(status.edits.filter((e) => e.includes(' · done'))).toHaveLength(1);
    expect(status.edits.at(-1)).toMatch(new RegExp(` · done: uploaded \`ddpm-mnist-${seed}\\.png\`$`));
    expect(JSON.stringify(status.blocks)).toContain(id);
    expect((await h.service.getRequest(id))?.deliveredAt).not.toBeNull();
  }, 420_000);
});
