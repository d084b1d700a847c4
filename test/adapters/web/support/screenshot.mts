/**
 * Regenerates docs/playground.png, the README's picture: the playground with a real model's result.
 *   npx tsx test/adapters/web/support/screenshot.mts [modelsDir=models] [model=emoji] [labelModel=mnist]
 * Both requests ask for a label: what the playground's first example does, and what a user sees first.
 */
import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { launchBrowser } from '../chromium.ts';
import { startStack } from './stack.ts';

const modelsDir = process.argv[2] ?? 'models';
const model = process.argv[3] ?? 'emoji';
const labelModel = process.argv[4] ?? 'mnist';
const stack = await startStack('shot', { modelsDir });
const browser = await launchBrowser();
try {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1280, height: 1000 });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto(stack.url);
  await page.waitForSelector('body[data-ready="true"]');
  const send = async (command: string) => {
    await page.getByLabel('Command', { exact: true }).fill(command);
    await page.keyboard.press('Enter');
  };
  // DPM-Solver++ at 20 steps and DDIM at 20: a picture in seconds rather than DDPM-1000's minutes on a busy host.
  await send(`/generate model:${model} label:"Smileys & Emotion" sampler:dpm-solver seed:42 count:4`);
  await send(`/generate model:${labelModel} label:7 sampler:ddim steps:20 seed:7 count:4`);
  for (let waited = 0; (await page.locator('article.request.succeeded').count()) < 2; waited += 500) {
    if (waited > 600_000) throw new Error(`the requests did not finish: ${await page.locator('#log').innerText()}`);
    await page.waitForTimeout(500);
  }
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.waitForTimeout(500);
  await page.getByLabel('Command', { exact: true }).fill('/generate sampler:ddim steps:50 seed:');
  // The conversation scrolls in its own region: bring the first result to its top, the labelled digits below it.
  await page.locator('article.request.succeeded').first().evaluate((n) => (n as unknown as { scrollIntoView(o: object): void }).scrollIntoView({ block: 'start' }));
  await page.waitForTimeout(300);
  const png = await page.screenshot();
  const small = await sharp(png).png({ palette: true, colours: 128, compressionLevel: 9 }).toBuffer();
  await writeFile('docs/playground.png', small);
  console.log(`docs/playground.png: ${Math.round(small.length / 1024)} KB`);
} finally {
  await browser.close();
  await stack.close();
}
