/**
 * The playground's Vary button in Chromium against the real service: under each image of a result, it
 * queues a variation of that image, shown as a new request whose image is the engine's for its noise seed;
 * /interpolate, and Interpolate with… on a result (a menu of the user's other generations); an interpolation from
 * an image is captioned with that image.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imagePng } from '../../../src/render/index.ts';
import { launchBrowser, type Browser } from './chromium.ts';
import { startStack, type Stack } from './support/stack.ts';

let stack: Stack;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack('browser_vary'), launchBrowser()]);
  page = await browser.context.newPage();
  // Two shared cores under other tests' load: the page's first load has taken over Playwright's default 30 s.
  page.setDefaultTimeout(90_000);
  await page.goto(stack.url);
  await page.waitForSelector('body[data-ready="true"]');
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function finishedCard(n: number) {
  const card = page.locator('article.request').nth(n);
  await expect.poll(async () => (await card.count()) > 0 && card.evaluate((node) => node.classList.contains('succeeded') || node.classList.contains('failed')), { timeout: 60_000 }).toBe(true);
  return card;
}

describe('Vary in the playground', () => {
  it('Vary 2 under a grid queues a variation of image 2, rendered as the engine renders it', async () => {
    await page.getByLabel('Command', { exact: true }).fill('/generate model:tiny sampler:ddim steps:10 seed:9 count:2');
    await page.keyboard.press('Enter');
    const grid = await finishedCard(0);
    await grid.getByRole('button', { name: 'Vary 2' }).click();
    const varied = await finishedCard(1);
    expect(await varied.evaluate((n) => n.classList.contains('succeeded'))).toBe(true);
    const sourceId = await grid.getAttribute('data-request-id');
    const id = await varied.getAttribute('data-request-id');
    const view = await stack.app.runtime.service.getRequest(id!);
    expect(view).toMatchObject({ kind: 'vary', derivedFrom: sourceId, variation: { strength: 0.5, source: { requestId: sourceId, index: 1 } } });
    const service = stack.app.runtime.service;
    const source = await stack.engine.sourceImage('tiny', (await service.getImage(sourceId!, 1))!.bytes);
    const direct = await stack.engine.vary(stack.engine.validateVariation({ model: 'tiny', sampler: 'ddim', steps: 10, seed: view!.seed }), source);
    expect((await service.getImage(id!, 0))!.bytes.equals(await imagePng(direct.images, 0))).toBe(true);
  });

  it('/interpolate queues the frames between two seeds; frames out of range are refused in the card', async () => {
    await page.getByLabel('Command', { exact: true }).fill('/interpolate model:tiny seed_a:1 seed_b:2 frames:3 steps:5');
    await page.keyboard.press('Enter');
    const card = await finishedCard(2);
    const view = await stack.app.runtime.service.getRequest((await card.getAttribute('data-request-id'))!);
    expect(view).toMatchObject({ kind: 'interpolate', status: 'succeeded', seed: 1, interpolation: { frames: 3, to: { seed: 2 } } });
    await page.getByLabel('Command', { exact: true }).fill('/interpolate model:tiny seed_a:1 seed_b:2 frames:40');
    await page.keyboard.press('Enter');
    const refused = await finishedCard(3);
    expect(await refused.textContent()).toMatch(/frames/);
  });

  it('Interpolate with… offers only my other generations of the model and morphs this seed into the picked one', async () => {
    const grid = page.locator('article.request').nth(0);
    // So far the only generation is this one: its variation and the interpolation are not offered.
    await grid.getByRole('button', { name: 'Interpolate with…' }).click();
    await expect.poll(() => grid.locator('.error').textContent()).toMatch(/no other finished \/generate result of tiny/);
    await page.getByLabel('Command', { exact: true }).fill('/generate model:tiny sampler:ddim steps:10 seed:21');
    await page.keyboard.press('Enter');
    const first = await finishedCard(4);
    await first.getByRole('button', { name: 'Interpolate with…' }).click();
    const menu = first.getByLabel('Morph into');
    await expect.poll(() => menu.locator('option').allTextContents()).toEqual(['tiny · ddim (eta 0) · 10 · seed 9']);
    await first.getByRole('button', { name: 'Interpolate', exact: true }).click();
    const morph = await finishedCard(5);
    expect(await morph.locator('.title').textContent()).toBe('interpolation from seed 21 to seed 9');
    const service = stack.app.runtime.service;
    const [fromId, id] = await Promise.all([first, morph].map((c) => c.getAttribute('data-request-id')));
    const view = (await service.getRequest(id!))!;
    expect(view).toMatchObject({ kind: 'interpolate', status: 'succeeded', derivedFrom: fromId, seed: 21, sampler: 'ddim', steps: 10, interpolation: { frames: 8, to: { seed: 9 } } });
    const direct = await stack.engine.interpolate(stack.engine.validateInterpolation({ model: 'tiny', sampler: 'ddim', steps: 10, seed_a: 21, seed_b: 9 }));
    expect((await service.getImage(id!, 'gif'))!.bytes.equals(direct.gif)).toBe(true);
    // The first frame is this result's own image.
    expect((await service.getImage(id!, 0))!.bytes.equals((await service.getImage(fromId!, 0))!.bytes)).toBe(true);
  }, 240_000);

  it('the API refuses what the menu would not offer, naming why', async () => {
    const ids = await Promise.all([0, 1, 4].map((n) => page.locator('article.request').nth(n).getAttribute('data-request-id')));
    const [grid, variation, first] = ids as [string, string, string];
    const post = (from: string, body: unknown) => fetch(`${stack.url}/api/requests/${from}/interpolate-with`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const refused = await post(first, { to: variation });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ field: 'to', message: expect.stringMatching(/is a vary/) });
    expect((await post(first, { to: first })).status).toBe(400);
    expect(await (await post(first, { to: grid, frames: 40 })).json()).toMatchObject({ field: 'frames' });
    expect(await (await post(first, { to: grid, seed: 1 })).json()).toMatchObject({ field: 'seed' });
    expect((await post(first, { to: '00000000-0000-4000-8000-000000000000' })).status).toBe(404);
    expect((await fetch(`${stack.url}/api/requests?partnersOf=00000000-0000-4000-8000-000000000000`)).status).toBe(404);
  });

  it('an interpolation from an image is captioned with that image, not with a seed', async () => {
    const grid = (await page.locator('article.request').nth(0).getAttribute('data-request-id'))!;
    const res = await fetch(`${stack.url}/api/interpolate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from: { request: grid, index: 1 }, seed_b: 3, frames: 2 }) });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await expect.poll(async () => (await stack.app.runtime.service.getRequest(id))?.status, { timeout: 60_000 }).toBe('succeeded');
    const words = `image 2 of request ${grid.slice(0, 8)} → seed 3`;
    await page.locator('#gallery-refresh').click();
    const entry = page.locator(`#gallery button.open[data-request-id="${id}"]`);
    await expect.poll(() => entry.textContent()).toBe(`tiny · ddim (eta 0) · 10 · ${words}`);
    await entry.click();
    const card = page.locator('article.request').last();
    await expect.poll(() => card.locator('img.result').first().getAttribute('alt')).toBe(`Image 1 of 2: ddim (eta 0), 10 steps, ${words}`);
    expect(await card.locator('.params').textContent()).toContain(`ends${words}`);
  }, 180_000);
});
