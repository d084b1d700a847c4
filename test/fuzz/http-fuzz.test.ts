/**
 * The fast slice of `npm run fuzz` (bench/fuzz.ts): a few hundred generated malformed requests,
 * slow clients and endless chunked bodies against the real service (tiny model, throwaway
 * Postgres). Every one must end in an answer below 500 within 5 s, with no stack trace, and the
 * database must afterwards hold only valid requests and no queue without one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzCases } from '../../bench/fuzz/cases.ts';
import { checkDatabase } from '../../bench/fuzz/check-db.ts';
import { hostileImages } from '../../bench/fuzz/images.ts';
import { chunkedOversize, finishedRequest, newTally, runCases, slowClients, type Tally } from '../../bench/fuzz/run.ts';
import { startStack, type Stack } from '../adapters/web/support/stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('fuzz', { ops: { REQUEST_TIMEOUT_SECONDS: 2 } });
});

afterAll(() => stack?.close());

function expectClean(tally: Tally): void {
  const report = `${JSON.stringify(Object.fromEntries(tally.outcomes))}\n${tally.failures.join('\n')}`;
  expect(tally.serverErrors, report).toBe(0);
  expect(tally.hangs, report).toBe(0);
  expect(tally.unanswered, report).toBe(0);
  expect(tally.stackTraces, report).toBe(0);
}

describe('fuzz slice', () => {
  it('answers 300 generated malformed requests across every route with a 4xx (or a success), never a 5xx', async () => {
    const images = await hostileImages();
    const requestIds = [await finishedRequest(stack.app.port!, 'tiny')];
    const cases = fuzzCases({ port: stack.app.port!, models: ['tiny'], samplers: stack.engine.samplers.list().map((s) => s.name), images, requestIds }, 300, 13);
    const tally = newTally();
    await runCases(stack.app.port!, cases, tally, 8);
    expectClean(tally);
    expect(tally.sent).toBe(300);
    expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
  });

  it('cuts off slow clients with 408 and endless chunked bodies with 413', async () => {
    const slow = newTally();
    await slowClients(stack.app.port!, 6, slow, 5000);
    expectClean(slow);
    expect(slow.outcomes.get('408')).toBe(6);
    const chunked = newTally();
    await chunkedOversize(stack.app.port!, chunked, false, 1);
    expectClean(chunked);
    expect(chunked.outcomes.get('413')).toBe(3);
  });

  it('leaves only valid requests in the database, and no schema object beyond the migrations', async () => {
    const report = await checkDatabase(stack.app.runtime.db.pool, stack.engine);
    expect(report.invalid).toEqual([]);
    expect(report.orphans).toEqual([]);
  });
});
