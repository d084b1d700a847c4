/**
 * Labels and guidance over the HTTP API, through the real service (tiny plus the conditional
 * tiny-cond, marked default; throwaway Postgres): the model listing clients build pickers from,
 * a labelled generation stored and replayed with its label, and bad labels answered 400.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imagePng } from '../../../src/render/index.ts';
import { modelsWithConditionalDefault } from '../../fixtures/conditional-default.ts';
import { startStack, type Stack } from './support/stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('labels', { modelsDir: await modelsWithConditionalDefault() });
});

afterAll(() => stack?.close());

async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${stack.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function waitDone(id: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 300; i++) {
    const view = (await (await fetch(`${stack.url}/api/requests/${id}`)).json()) as Record<string, unknown>;
    if (view['status'] === 'succeeded' || view['status'] === 'failed') return view;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`request ${id} did not finish`);
}

describe('labels and guidance over HTTP', () => {
  it('lists each model\'s classes and default guidance, and the manifest\'s default model', async () => {
    const { models } = (await (await fetch(`${stack.url}/api/models`)).json()) as { models: Array<Record<string, unknown>> };
    expect(models.map((m) => [m['name'], m['default']])).toEqual([
      ['tiny', false],
      ['tiny-cond', true],
    ]);
    expect(models[0]!['conditioning']).toBeNull();
    expect(models[1]!['conditioning']).toEqual({ classes: ['class 0', 'class 1', 'class 2'], defaultGuidance: 2.5 });
  });

  it('generates a label (by index) with guidance, returns both in the request, and a reroll keeps them', async () => {
    const submitted = await post('/api/generate', { model: 'tiny-cond', label: 1, guidance: 3, steps: 4, seed: 21 });
    expect(submitted.status).toBe(202);
    const view = await waitDone(submitted.body['id'] as string);
    expect(view).toMatchObject({ status: 'succeeded', params: { model: 'tiny-cond', label: 'class 1', guidance: 3, steps: 4, seed: 21 } });
    const png = Buffer.from(await (await fetch(`${stack.url}/api/requests/${view['id'] as string}/images/0.png`)).arrayBuffer());
    const direct = await stack.engine.generate(stack.engine.validate({ model: 'tiny-cond', label: 'class 1', guidance: 3, steps: 4, seed: 21 }));
    expect(png.equals(await imagePng(direct.images))).toBe(true);

    const rerolled = await post(`/api/requests/${view['id'] as string}/replay`, { newSeed: true });
    expect(await waitDone(rerolled.body['id'] as string)).toMatchObject({ params: { label: 'class 1', guidance: 3 } });

    // A name without guidance gets the model's default; no label stores nulls.
    const byName = await waitDone((await post('/api/generate', { model: 'tiny-cond', label: 'Class 2', steps: 2 })).body['id'] as string);
    expect(byName).toMatchObject({ params: { label: 'class 2', guidance: 2.5 } });
    const plain = await waitDone((await post('/api/generate', { model: 'tiny', steps: 2 })).body['id'] as string);
    expect(plain).toMatchObject({ params: { label: null, guidance: null } });
  });

  it.each([
    [{ model: 'tiny-cond', label: 'dog' }, 'label', /unknown label "dog"; choose one of: class 0, class 1, class 2/],
    [{ model: 'tiny-cond', label: 7 }, 'label', /label index must be 0..2/],
    [{ model: 'tiny-cond', guidance: 2 }, 'guidance', /guidance needs a label/],
    [{ model: 'tiny-cond', label: 0, guidance: 25 }, 'guidance', /guidance/],
    [{ model: 'tiny', label: 'class 0' }, 'label', /model tiny is not class-conditional/],
    [{ model: 'tiny-cond', label: true }, 'label', /label/],
  ])('answers 400 naming the field for %j', async (body, field, message) => {
    const res = await post('/api/generate', body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'validation', field });
    expect(res.body['message']).toMatch(message);
  });
});
