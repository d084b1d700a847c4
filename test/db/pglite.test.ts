/**
 * Zero-setup mode: no DATABASE_URL, so the service starts embedded PGlite under DATA_DIR, applies
 * the migrations with `prisma migrate deploy`, and runs requests through its queue. A restart
 * on the same DATA_DIR finds the earlier request and its image.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startService } from '../../src/main.ts';
import { FakeEngine, fakeRender } from '../jobs/support/fake-engine.ts';
import { waitFor } from '../jobs/support/runtime.ts';

let dataDir: string | undefined;

afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('embedded PGlite (no DATABASE_URL)', () => {
  it('migrates, runs a request end to end over HTTP, and keeps it across a restart', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ddpm-pglite-'));
    const env = { DATA_DIR: dataDir, PORT: '0', WORKER_POLL_MS: '100' };
    const config = loadConfig(env);
    expect(config.DATABASE_URL).toBeUndefined();
    const log = pino({ level: 'silent' });

    const first = await startService({ config, log, engine: new FakeEngine(), render: fakeRender });
    const base = `http://127.0.0.1:${first.port}`;
    const res = await fetch(`${base}/api/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'fake', steps: 3, seed: 77 }) });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const done = await waitFor(async () => {
      const r = (await (await fetch(`${base}/api/requests/${id}`)).json()) as { status: string; images: Array<{ sha256: string }> };
      return r.status === 'succeeded' ? r : null;
    }, 30_000);
    await first.stop();

    const second = await startService({ config, log, engine: new FakeEngine(), render: fakeRender, });
    try {
      const again = (await (await fetch(`http://127.0.0.1:${second.port}/api/requests/${id}`)).json()) as { status: string; seed: number; images: Array<{ sha256: string }> };
      expect(again).toMatchObject({ status: 'succeeded', seed: 77 });
      expect(again.images[0]!.sha256).toBe(done.images[0]!.sha256);
    } finally {
      await second.stop();
    }
  }, 180_000); // two embedded-database starts with migrations; slow on a loaded 2-core machine
});
