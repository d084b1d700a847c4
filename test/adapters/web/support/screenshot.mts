/**
 * Regenerates docs/playground.png, the README's picture: the playground with a real model's result.
 *   npx tsx test/adapters/web/support/screenshot.mts [modelsDir=models] [model=emoji] [compareModel=mnist]
 */
import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { launchBrowser } from '../chromium.ts';
import { startStack } from './stack.ts';

const modelsDir = process.argv[2] ?? 'models';
const model = process.argv[3] ?? 'emoji';
const compareModel = process.argv[4] ?? 'mnist';
const stack = await startStack('shot', { modelsDir });
const browser = await launchBrowser();
try {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1200, height: 900 });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto(stack.url);
  await page.waitForSelector('body[data-ready="true"]');
  const send = async (command: string) => {
    await page.getByLabel('Command', { exact: true }).fill(command);
    await page.keyboard.press('Enter');
  };
  await send(`/generate model:${model} sampler:ddpm seed:42 count:4`);
  await page.waitForSelector('article.request.succeeded', { timeout: 300_000 }).catch(async (e: unknown) => {
    console.error(await page.locator('#log').innerText());
    throw e;
  });
  await send(`/compare model:${compareModel} seed:7`);
  for (let waited = 0; (await page.locator('.compare-card .status[data-done="true"]').count()) < 3; waited += 500) {
    if (waited > 600_000) throw new Error('the comparison did not finish');
    await page.waitForTimeout(500);
  }
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.waitForTimeout(500);
  await page.getByLabel('Command', { exact: true }).fill('/generate sampler:ddim steps:50 seed:');
  // A viewport as tall as the page (at most 1500 px), so the sticky command box sits under the content.
  const height = Math.min(1500, (await page.evaluate('document.documentElement.scrollHeight')) as number);
  await page.setViewportSize({ width: 1200, height });
  await page.evaluate('window.scrollTo(0, 0)');
  await page.waitForTimeout(300);
  const png = await page.screenshot();
  const small = await sharp(png).png({ palette: true, colours: 128, compressionLevel: 9 }).toBuffer();
  await writeFile('docs/playground.png', small);
  console.log(`docs/playground.png: ${Math.round(small.length / 1024)} KB`);
} finally {
  await browser.close();
  await stack.close();
}
