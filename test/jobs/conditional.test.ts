/**
 * Labels and guidance through the whole job path with the real engine (the tiny conditional ONNX
 * fixture) and real Postgres: stored on the request, fed to the network by the worker, kept by
 * reroll and replay, and the stored PNG equals a direct engine run with the same parameters.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.ts';
import { startJobRuntime, type JobRuntime } from '../../src/jobs/runtime.ts';
import { realRender } from '../../src/main.ts';
import { imagePng } from '../../src/render/index.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { testConfig, testLog, waitFor } from './support/runtime.ts';

let db: TestDatabase;
let engine: Engine;
let bot: JobRuntime;
const requester = { platform: 'web' as const, userId: 'u1' };

beforeAll(async () => {
  db = await createTestDatabase('conditional');
  engine = await Engine.load({ modelsDir: path.resolve(import.meta.dirname, '../fixtures/conditional'), executionProvider: 'cpu', threads: 1 });
  bot = await startJobRuntime({
    config: testConfig({ DATABASE_URL: db.url, LIMIT_CONCURRENT_PER_USER: 10 }),
    engine,
    render: realRender,
    log: testLog,
  });
});

afterAll(async () => {
  await bot?.close();
  await engine?.close();
  await db?.drop();
});

async function finished(id: string) {
  return waitFor(async () => {
    const view = await bot.service.getRequest(id);
    return view && ['succeeded', 'failed'].includes(view.status) ? view : null;
  });
}

async function expectSameAsEngine(id: string, params: Record<string, unknown>) {
  const view = await finished(id);
  expect(view.status).toBe('succeeded');
  const direct = await engine.generate(engine.validate(params));
  expect((await bot.service.getImage(id, 0))!.bytes.equals(await imagePng(direct.images, 0))).toBe(true);
  return view;
}

describe('conditional requests through the queue', () => {
  it('store label and guidance and render exactly what the engine renders for them', async () => {
    const base = { model: 'tiny-cond', sampler: 'ddim', steps: 5, seed: 99, count: 2 };
    const guided = await bot.service.submitGeneration({ requester, params: { ...base, label: 'CLASS 1', guidance: 4 }, replyTo: null });
    const defaulted = await bot.service.submitGeneration({ requester, params: { ...base, label: 0 }, replyTo: null });
    const plain = await bot.service.submitGeneration({ requester, params: base, replyTo: null });

    expect(await expectSameAsEngine(guided.id, { ...base, label: 'class 1', guidance: 4 })).toMatchObject({ label: 'class 1', guidance: 4 });
    expect(await expectSameAsEngine(defaulted.id, { ...base, label: 'class 0', guidance: 2.5 })).toMatchObject({ label: 'class 0', guidance: 2.5 });
    expect(await expectSameAsEngine(plain.id, base)).toMatchObject({ label: null, guidance: null });
    // The label changes the picture (the fixture's class embedding is random, not zero).
    expect((await bot.service.getImage(guided.id, 0))!.sha256).not.toBe((await bot.service.getImage(plain.id, 0))!.sha256);
  });

  it('keeps label and guidance on reroll and replay', async () => {
    const first = await bot.service.submitGeneration({
      requester, params: { model: 'tiny-cond', sampler: 'ddim', steps: 4, seed: 5, label: 2, guidance: 1.5 }, replyTo: null,
    });
    await finished(first.id);
    const rerolled = await bot.service.reroll(first.id, requester, null);
    const replayed = await bot.service.replay(first.id, requester, null, { sampler: 'ddpm', steps: 10 });
    const r = await finished(rerolled.id);
    expect(r).toMatchObject({ label: 'class 2', guidance: 1.5 });
    expect(r.seed).not.toBe(5);
    await expectSameAsEngine(replayed.id, { model: 'tiny-cond', sampler: 'ddpm', steps: 10, seed: 5, label: 2, guidance: 1.5 });
  });

  it('refuses a bad label with the field named and writes nothing', async () => {
    const before = await bot.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM requests');
    await expect(bot.service.submitGeneration({ requester, params: { model: 'tiny-cond', label: 'dog' }, replyTo: null })).rejects.toMatchObject({
      name: 'ValidationError',
      field: 'label',
    });
    const after = await bot.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM requests');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });
});
