/**
 * The playground's Vary button in Chromium against the real service: under each image of a result, it
 * queues a variation of that image, shown as a new request whose image is the engine's for its noise seed.
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
});
