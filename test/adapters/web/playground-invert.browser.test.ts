/**
 * /invert in the playground, in Chromium against the real service: an attached PNG goes to POST /api/invert,
 * the card shows the image beside its reconstruction with the PSNR the engine measures, and Vary and
 * Interpolate to seed under it start from the uploaded image. /invert without an attachment is refused
 * under the box, sending nothing.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imagePng } from '../../../src/render/index.ts';
import { launchBrowser, type Browser } from './chromium.ts';
import { startStack, type Stack } from './support/stack.ts';
import { grayGradientPng } from '../../fixtures/gradient-png.ts';

let stack: Stack;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack('browser_invert'), launchBrowser()]);
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
  await expect.poll(async () => (await card.count()) > 0 && card.evaluate((node) => node.classList.contains('succeeded') || node.classList.contains('failed')), { timeout: 90_000 }).toBe(true);
  return card;
}

describe('/invert in the playground', () => {
  it('refuses /invert without an attachment under the box, sending nothing', async () => {
    await page.getByLabel('Command', { exact: true }).fill('/invert steps:10');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#command-error').textContent()).toMatch(/\/invert needs an image/);
    expect(await page.getByLabel('Command', { exact: true }).inputValue()).toBe('/invert steps:10');
    expect(await page.locator('article.request').count()).toBe(0);
  });

  it('shows the upload beside its reconstruction with the engine\'s PSNR; Vary and Interpolate to seed start from it', async () => {
    const png = await grayGradientPng(8);
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'ddpm-invert-')), 'digit.png');
    writeFileSync(file, png);
    await page.locator('#image').setInputFiles(file);
    await expect.poll(() => page.locator('#attachment').textContent()).toContain('for /noise-demo or /invert');
    await page.getByLabel('Command', { exact: true }).fill('/invert model:tiny steps:10');
    await page.keyboard.press('Enter');
    const card = await finishedCard(0);
    expect(await card.evaluate((n) => n.classList.contains('succeeded'))).toBe(true);
    const id = (await card.getAttribute('data-request-id'))!;
    const service = stack.app.runtime.service;
    const direct = await stack.engine.invert(stack.engine.validateInversion({ model: 'tiny', steps: 10 }), await stack.engine.sourceImage('tiny', png));
    expect((await service.getRequest(id))!).toMatchObject({ kind: 'invert', steps: 10, inversion: { source: { upload: true }, psnr: direct.psnr } });
    expect((await service.getImage(id, 'reconstruction'))!.bytes.equals(await imagePng(direct.reconstruction))).toBe(true);
    const text = `reconstruction, 10 steps, PSNR ${direct.psnr.toFixed(2)} dB`;
    expect(await card.getByRole('img', { name: `Reconstruction from its x_T: ${text}` }).count()).toBe(1);
    expect(await card.locator('dt:text-is("PSNR") + dd').textContent()).toBe(`${direct.psnr.toFixed(2)} dB`);

    await card.getByRole('button', { name: 'Vary' }).click();
    const varied = await finishedCard(1);
    expect((await service.getRequest((await varied.getAttribute('data-request-id'))!))!).toMatchObject({ kind: 'vary', status: 'succeeded', variation: { source: { requestId: id, index: 0 } } });

    await card.getByLabel('Seed to morph into').fill('22');
    await card.getByRole('button', { name: 'Interpolate to seed' }).click();
    const morph = await finishedCard(2);
    const view = (await service.getRequest((await morph.getAttribute('data-request-id'))!))!;
    expect(view).toMatchObject({ kind: 'interpolate', status: 'succeeded', sampler: 'ddim', steps: 10, interpolation: { from: { requestId: id, index: 0 }, to: { seed: 22 } } });
    // Frame 0 is the inverted image decoded back: the reconstruction shown above.
    expect((await service.getImage(view.id, 0))!.bytes.equals(await imagePng(direct.reconstruction))).toBe(true);
  }, 300_000);
});
