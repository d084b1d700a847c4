/**
 * The playground in Debian's Chromium against the real service (the tiny fixture models, the
 * conditional tiny-cond marked default; real job runtime on a throwaway Postgres): type commands,
 * watch previews, rerun a seed, pick a label, upload an image.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { imagePng } from '../../../src/render/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelsWithConditionalDefault } from '../../fixtures/conditional-default.ts';
import { launchBrowser, type Browser } from './chromium.ts';
import { startStack, type Stack } from './support/stack.ts';

let stack: Stack;
let browser: Browser;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  // One request at a time per user: /compare must wait for a free slot (429 concurrent) and still finish.
  // A preview at every step keeps tiny's DDPM-1000 running for seconds (0.12 s without), long enough to be
  // the running request beside which a second one is refused.
  [stack, browser] = await Promise.all([startStack('browser', { env: { LIMIT_CONCURRENT_PER_USER: '1', PROGRESS_MIN_INTERVAL_MS: '0' } }), launchBrowser()]);
  // Beside tiny (first by name), the conditional tiny-cond marked default: the page must start on it.
  await stack.engine.models.addFolder(path.join(await modelsWithConditionalDefault(), 'tiny-cond'));
  page = await browser.context.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && !m.text().includes('status of 4') && errors.push(m.text()));
  await page.goto(stack.url);
  await page.waitForSelector('body[data-ready="true"]');
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function send(command: string): Promise<void> {
  await page.getByLabel('Command', { exact: true }).fill(command);
  await page.keyboard.press('Enter');
}

/** The newest request card (pinned by index: a plain `.last()` would follow newer cards), once it has a final status. */
async function lastFinishedCard() {
  const card = page.locator('article.request').nth((await page.locator('article.request').count()) - 1);
  await expect.poll(async () => card.evaluate((n) => n.classList.contains('succeeded') || n.classList.contains('failed')), { timeout: 30_000 }).toBe(true);
  return card;
}

async function param(card: ReturnType<Page['locator']>, name: string): Promise<string> {
  return (await card.locator('dl.params dt', { hasText: new RegExp(`^${name}$`) }).locator('xpath=following-sibling::dd[1]').textContent()) ?? '';
}

async function naturalWidth(img: ReturnType<Page['locator']>): Promise<number> {
  return img.evaluate((i) => (i as unknown as { naturalWidth: number }).naturalWidth);
}

async function imageBytes(url: string): Promise<Buffer> {
  return Buffer.from(await (await fetch(new URL(url, stack.url))).arrayBuffer());
}

describe('playground in Chromium', () => {
  it('lists the models and samplers, and shows a bad command inline', async () => {
    await expect.poll(() => page.locator('#catalog').textContent()).toContain('tiny (8×8)');
    // The API's default model, not the first by name; its classes in the label picker, its guidance preset.
    const model = page.getByLabel('Model', { exact: true });
    const label = page.getByLabel('Label', { exact: true });
    expect(await model.inputValue()).toBe('tiny-cond');
    expect(await label.locator('option').allTextContents()).toEqual(['none', 'class 0', 'class 1', 'class 2']);
    expect(await label.inputValue()).toBe('');
    expect(await page.getByLabel('Guidance').inputValue()).toBe('2.5');
    await model.selectOption('tiny');
    expect(await label.isHidden()).toBe(true);
    await model.selectOption('tiny-cond');
    expect(await label.isVisible()).toBe(true);
    await send('/generate steps:lots');
    await expect.poll(() => page.locator('#command-error').textContent()).toContain('steps must be a whole number');
    expect(await page.getByLabel('Command', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await send('/paint cat');
    await expect.poll(() => page.locator('#command-error').textContent()).toContain('Unknown command');
  });

  it("shows the chosen sampler's own option fields from GET /api/samplers, generates with them, and names a bad one", async () => {
    const sampler = page.getByLabel('Sampler', { exact: true });
    const fields = () => page.locator('#sampler-options [data-option]').evaluateAll((nodes) => nodes.map((n) => n.id));
    expect(await sampler.inputValue()).toBe('ddim');
    expect(await fields()).toEqual(['option-eta', 'option-use_clipped_model_output']);
    // Folded under the pickers until opened.
    await page.locator('#sampler-options-box summary').click();
    await sampler.selectOption('score-sde');
    expect(await fields()).toEqual(['option-predictor', 'option-corrector_steps', 'option-snr', 'option-probability_flow']);
    const corrector = page.getByLabel('corrector_steps', { exact: true });
    expect([await corrector.getAttribute('min'), await corrector.getAttribute('max'), await corrector.getAttribute('step')]).toEqual(['0', '10', '1']);
    expect(await page.getByLabel('predictor', { exact: true }).locator('option').allTextContents()).toEqual(['default (reverse_diffusion)', 'reverse_diffusion', 'euler_maruyama']);
    await corrector.fill('2');
    await page.getByLabel('probability_flow', { exact: true }).selectOption('true');
    await send('/generate model:tiny steps:4 seed:5');
    const card = await lastFinishedCard();
    expect(await card.evaluate((n) => n.className)).toContain('succeeded');
    expect(await param(card, 'sampler')).toBe('score-sde');
    expect(await param(card, 'corrector_steps')).toBe('2');
    expect(await param(card, 'probability_flow')).toBe('true');
    const options = { corrector_steps: 2, probability_flow: true };
    const expected = await imagePng((await stack.engine.generate(stack.engine.validate({ model: 'tiny', sampler: 'score-sde', steps: 4, seed: 5, options }))).images);
    expect((await imageBytes((await card.locator('img.result').getAttribute('src'))!)).equals(expected)).toBe(true);

    // Typed options are the chosen sampler's too: one it does not take is refused with those it does, a bad value with its range.
    await send('/generate model:tiny steps:4 eta:0.5');
    await expect.poll(() => page.locator('#command-error').textContent()).toBe('sampler score-sde takes no option "eta"; its options: predictor, corrector_steps, snr, probability_flow');
    await page.getByLabel('snr', { exact: true }).fill('0');
    await send('/generate model:tiny steps:4');
    await expect.poll(() => page.locator('#command-error').textContent()).toBe('option snr must be a number > 0 and <= 1 for sampler score-sde (got "0")');
    await page.getByLabel('snr', { exact: true }).fill('');
    await sampler.selectOption('ddim');
    expect(await fields()).toEqual(['option-eta', 'option-use_clipped_model_output']);
    await page.locator('#sampler-options-box summary').click();
  });

  it('generates: live previews update step by step, then the image with its parameters and seed', async () => {
    // Page code as strings: this project's TypeScript has no DOM types.
    await page.evaluate(`(() => {
      const seen = (window.previewSteps = []);
      new MutationObserver((records) => {
        for (const r of records) if (r.target.classList.contains('preview')) seen.push(Number(r.target.dataset.step));
      }).observe(document.getElementById('log'), { subtree: true, attributes: true, attributeFilter: ['data-step'] });
    })()`);
    await send('/generate sampler:ddpm steps:600 seed:42');
    const card = await lastFinishedCard();
    expect(await card.evaluate((n) => n.className)).toContain('succeeded');
    const steps = (await page.evaluate('window.previewSteps')) as number[];
    expect(new Set(steps).size).toBeGreaterThanOrEqual(2);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    const img = card.locator('img.result');
    await expect.poll(() => naturalWidth(img)).toBe(8);
    expect(await param(card, 'seed')).toBe('42');
    expect(await param(card, 'sampler')).toBe('ddpm');
    expect(await param(card, 'steps')).toBe('600');
    expect(await card.locator('.status').textContent()).toMatch(/^Done in \d+\.\d\d s$/);

    // Click to enlarge: a dialog with the image at a whole factor; Escape closes it.
    await card.getByRole('button', { name: /^Enlarge: Image 1 of 1/ }).click();
    const viewer = page.locator('dialog#viewer');
    await expect.poll(() => viewer.evaluate((d) => (d as unknown as { open: boolean }).open)).toBe(true);
    const shown = await viewer.locator('img').evaluate((i) => (i as unknown as { width: number }).width);
    expect(shown % 8).toBe(0);
    expect(shown).toBeGreaterThan(8 * 10);
    // The download is the 8x8 original enlarged by nearest neighbour to 512 px.
    const [download] = await Promise.all([page.waitForEvent('download'), viewer.getByRole('button', { name: 'Download PNG 512×512' }).click()]);
    expect(download.suggestedFilename()).toBe('ddpm-42-0-x64.png');
    const big = await sharp(await download.path()).raw().toBuffer({ resolveWithObject: true });
    expect([big.info.width, big.info.height]).toEqual([512, 512]);
    const small = await sharp(await imageBytes((await img.getAttribute('src'))!)).raw().toBuffer({ resolveWithObject: true });
    expect(big.data[(64 * 3 * 512 + 64 * 5) * big.info.channels]).toBe(small.data[(3 * 8 + 5) * small.info.channels]);
    await page.keyboard.press('Escape');
    await expect.poll(() => viewer.evaluate((d) => (d as unknown as { open: boolean }).open)).toBe(false);
  });

  it('reruns the seed: same sampler gives the same image, another sampler keeps the seed, reroll changes it', async () => {
    // tiny, whose 10 predicted-x0 frames all differ (untrained tiny-cond repeats some, and the GIF merges repeats).
    await send('/generate model:tiny sampler:ddim steps:10 seed:7');
    const original = await lastFinishedCard();
    const originalPng = await imageBytes((await original.locator('img.result').getAttribute('src'))!);

    await original.getByLabel('Same seed with').selectOption('ddim');
    await original.getByRole('button', { name: 'Replay' }).click();
    const same = await lastFinishedCard();
    expect(await param(same, 'seed')).toBe('7');
    expect((await imageBytes((await same.locator('img.result').getAttribute('src'))!)).equals(originalPng)).toBe(true);

    await original.getByLabel('Same seed with').selectOption('dpm-solver');
    await original.getByRole('button', { name: 'Replay' }).click();
    const other = await lastFinishedCard();
    expect(await param(other, 'seed')).toBe('7');
    expect(await param(other, 'sampler')).toBe('dpm-solver');

    await original.getByRole('button', { name: 'Reroll' }).click();
    const rerolled = await lastFinishedCard();
    expect(await param(rerolled, 'sampler')).toBe('ddim');
    expect(await param(rerolled, 'seed')).not.toBe('7');

    await original.getByRole('button', { name: 'Animation' }).click();
    const animated = await lastFinishedCard();
    expect(await param(animated, 'seed')).toBe('7');
    const gifUrl = (await animated.locator('img.animation').getAttribute('src'))!;
    expect(gifUrl).toMatch(/\/images\/animation\.gif$/);
    // 9 of the 10 steps' predicted x0, then the image (which the card shows too, byte-identical to the original).
    expect((await sharp(await imageBytes(gifUrl), { pages: -1 }).metadata()).pages).toBe(10);
    expect((await imageBytes((await animated.locator('img.sample').getAttribute('src'))!)).equals(originalPng)).toBe(true);
  });

  it('generates the label picked for a conditional model; the stored request, reroll and gallery keep it', async () => {
    await page.getByLabel('Label', { exact: true }).selectOption('class 1');
    await page.getByLabel('Guidance').fill('3');
    await send('/generate steps:10 seed:11');
    const card = await lastFinishedCard();
    expect(await card.evaluate((n) => n.className)).toContain('succeeded');
    expect(await param(card, 'label')).toBe('class 1');
    expect(await param(card, 'guidance')).toBe('3');
    const id = await card.getAttribute('data-request-id');
    const stored = (await (await fetch(`${stack.url}/api/requests/${id}`)).json()) as { params: Record<string, unknown> };
    expect(stored.params).toMatchObject({ model: 'tiny-cond', label: 'class 1', guidance: 3, seed: 11, steps: 10 });
    const png = await imageBytes((await card.locator('img.result').getAttribute('src'))!);
    const direct = await stack.engine.generate(stack.engine.validate({ model: 'tiny-cond', label: 'class 1', guidance: 3, steps: 10, seed: 11 }));
    expect(png.equals(await imagePng(direct.images))).toBe(true);

    await card.getByRole('button', { name: 'Reroll' }).click();
    const rerolled = await lastFinishedCard();
    expect(await param(rerolled, 'label')).toBe('class 1');
    expect(await param(rerolled, 'guidance')).toBe('3');
    expect(await param(rerolled, 'seed')).not.toBe('11');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => page.locator('#gallery button.open').first().textContent(), { timeout: 10_000 }).toContain('class 1, guidance 3');

    // A label typed in the command wins over the picker (a number is the class index) and gets the model's default guidance.
    await send('/generate label:2 steps:5 seed:11');
    const typed = await lastFinishedCard();
    expect(await param(typed, 'label')).toBe('class 2');
    expect(await param(typed, 'guidance')).toBe('2.5');
    await send('/generate label:"CLASS 0" steps:2');
    expect(await param(await lastFinishedCard(), 'label')).toBe('class 0');
    await send('/generate label:dog steps:5');
    expect(await (await lastFinishedCard()).getByRole('alert').textContent()).toContain('unknown label "dog"');

    await page.getByLabel('Label', { exact: true }).selectOption('');
    await send('/generate steps:5 seed:11');
    expect(await (await lastFinishedCard()).locator('dl.params dt', { hasText: /^label$/ }).count()).toBe(0);
  });

  it('cancels a running request from its message', async () => {
    await send('/generate sampler:ddpm steps:1000 seed:9');
    const card = page.locator('article.request').nth((await page.locator('article.request').count()) - 1);
    await card.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => card.locator('.status').textContent(), { timeout: 30_000 }).toBe('Cancelled');
    expect(await card.getByRole('button', { name: 'Cancel' }).isHidden()).toBe(true);
  });

  it('runs the noise demo on an uploaded image', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ddpm-upload-'));
    const file = path.join(dir, 'gradient.png');
    const pixels = Buffer.alloc(16 * 16 * 3, 0).map((_, i) => (i * 5) % 256);
    writeFileSync(file, await sharp(pixels, { raw: { width: 16, height: 16, channels: 3 } }).png().toBuffer());
    await page.locator('#image').setInputFiles(file);
    await expect.poll(() => page.locator('#attachment').textContent()).toContain('gradient.png');
    expect(await page.getByLabel('Command', { exact: true }).inputValue()).toBe('/noise-demo ');
    await page.getByLabel('Command', { exact: true }).fill('/noise-demo seed:3 timesteps:0,250,999');
    await page.keyboard.press('Enter');
    const card = await lastFinishedCard();
    expect(await card.evaluate((n) => n.className)).toContain('succeeded');
    const images = card.locator('img.result');
    await expect.poll(() => images.count()).toBeGreaterThanOrEqual(1);
    await expect.poll(() => naturalWidth(images.first())).toBeGreaterThan(16);
    expect(await param(card, 'timesteps')).toBe('0,250,999');
    expect(await page.locator('#attachment').textContent()).toBe('');
    // Every frame at one size: the input (8 px) and each x_t frame of the grid (drawn at 64 px) show 96 px wide.
    const input = card.getByRole('img', { name: /x₀ \(the input\)/ });
    await expect.poll(() => input.evaluate((i) => (i as unknown as { width: number }).width)).toBe(96);
    const grid = card.getByRole('img', { name: /x_t at each timestep/ });
    const [gridShown, gridNatural] = await grid.evaluate((i) => [(i as unknown as { width: number }).width, (i as unknown as { naturalWidth: number }).naturalWidth]);
    expect(Math.abs(gridShown - (gridNatural * 96) / 64)).toBeLessThan(1);
  });

  it('shows a bad upload inline in its message', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ddpm-upload-'));
    const file = path.join(dir, 'notes.png');
    writeFileSync(file, 'this is not a picture');
    await page.locator('#image').setInputFiles(file);
    await send('/noise-demo seed:1');
    const card = await lastFinishedCard();
    expect(await card.evaluate((n) => n.className)).toContain('failed');
    expect(await card.getByRole('alert').textContent()).toMatch(/not an image/);
  });

  it('/help and /info describe every sampler with the paper it implements', async () => {
    for (const command of ['/help', '/info']) {
      await send(command);
      const items = page.locator('.help-card').last().locator('.sampler-list li');
      const expected = stack.engine.samplers.list().map((p) => `${p.name}: ${p.description} (steps ${p.stepLimits(1000).min}–${p.stepLimits(1000).max}, default ${p.stepLimits(1000).default})`);
      expect(await items.allTextContents()).toEqual(expected);
      for (const text of expected) expect(text).toMatch(/\([A-Z][a-zA-Z-]+ et al\. 20\d\d/);
    }
  });

  it('compares one seed through every sampler, score-based ones included, with steps and times', async () => {
    await send('/compare seed:5');
    const grid = page.locator('.compare-card').last();
    // Never a broken-image icon: a column shows a placeholder until its first preview arrives.
    const broken = () => grid.locator('section').evaluateAll((cols) => cols.filter((c) => {
      const img = c.querySelector('img') as unknown as { hidden: boolean; getAttribute(n: string): string | null };
      return !img.hidden && !img.getAttribute('src');
    }).length);
    expect(await grid.locator('.pending').count()).toBeGreaterThanOrEqual(1);
    expect(await broken()).toBe(0);
    const installed = stack.engine.samplers.list().map((p) => p.name);
    expect(installed).toEqual(expect.arrayContaining(['ddpm', 'ddim', 'score-sde', 'euler', 'dpm-solver']));
    expect(await grid.locator('section').evaluateAll((cols) => cols.map((c) => c.getAttribute('data-sampler')))).toEqual(installed);
    for (const sampler of installed) {
      const col = grid.locator(`section[data-sampler="${sampler}"]`);
      await expect.poll(() => col.locator('.status').getAttribute('data-done'), { timeout: 120_000 }).toBe('true');
      // Each cell: the sampler, the steps it took (its default for tiny-cond's 1000 training steps) and the seconds.
      const steps = stack.engine.sampler(sampler).stepLimits(1000).default;
      expect(await col.locator('h3').textContent()).toBe(sampler);
      expect(await col.locator('.status').textContent()).toMatch(new RegExp(`^${steps} steps · \\d+\\.\\d\\d s$`));
      expect(await col.locator('img.result').getAttribute('alt')).toBe(`${sampler}, ${steps} steps, seed 5`);
    }
    expect(await grid.locator('.pending').count()).toBe(0);
    // Five samplers one after another (one request at a time per user here), two of them 1,000 steps.
  }, 300_000);

  it('works from the keyboard: "/" focuses the command box, arrow up recalls the last command, Escape clears', async () => {
    await page.locator('h1').click();
    await page.keyboard.press('/');
    expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id)).toBe('command');
    await page.keyboard.press('ArrowUp');
    expect(await page.getByLabel('Command', { exact: true }).inputValue()).toBe('/compare seed:5');
    await page.keyboard.press('Escape');
    expect(await page.getByLabel('Command', { exact: true }).inputValue()).toBe('');
  });

  it('shows past requests in the gallery and reopens one by keyboard', async () => {
    await send('/history');
    const items = page.locator('#gallery button.open');
    await expect.poll(() => page.locator('#gallery button.open:focus').count(), { timeout: 10_000 }).toBe(1);
    // A refresh while someone is in the list (finished requests trigger one) keeps their place.
    const focused = await page.locator('#gallery button.open:focus').getAttribute('data-request-id');
    await page.locator('#gallery button.open').evaluateAll((buttons) => buttons.forEach((b) => b.setAttribute('data-stale', '')));
    await page.locator('#gallery-refresh').dispatchEvent('click'); // a click event that does not move focus
    const refocused = page.locator(`#gallery button.open[data-request-id="${focused}"]:focus:not([data-stale])`);
    await expect.poll(() => refocused.count(), { timeout: 10_000 }).toBe(1);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => items.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(6);
    expect(await items.first().textContent()).toMatch(/^tiny(-cond)? · /);
    const cards = await page.locator('article.request').count();
    await items.first().focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('article.request').count(), { timeout: 10_000 }).toBe(cards + 1);
    expect(errors).toEqual([]);
  });

  it('keeps new messages and errors in view with a full gallery, at 1280 and 390 px wide', async () => {
    // 30 more requests through the API (one at a time: this stack allows one per user), so the gallery
    // holds a full page of 24 and its column is taller than the window.
    const submit = async (seed: number): Promise<string | undefined> => {
      const res = await fetch(`${stack.url}/api/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', steps: 1, seed }) });
      return res.status === 202 ? ((await res.json()) as { id: string }).id : undefined;
    };
    for (let seed = 100; seed < 130; seed++) {
      // A request of an earlier test may still be running: with one request per user, wait for the slot.
      let id: string | undefined;
      await expect.poll(async () => (id = await submit(seed)), { timeout: 60_000, interval: 500 }).toBeDefined();
      await expect.poll(async () => ((await (await fetch(`${stack.url}/api/requests/${id!}`)).json()) as { status: string }).status, { timeout: 30_000 }).toBe('succeeded');
    }
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => page.locator('#gallery button.open').count(), { timeout: 10_000 }).toBe(24);
    expect(await page.getByRole('button', { name: 'Show more' }).isVisible()).toBe(true);
    // Inside the window and, for messages, inside the conversation's own scroll region.
    const inView = (target: ReturnType<Page['locator']>) =>
      target.evaluate((n) => {
        // No DOM types in this project's TypeScript: the few properties used, spelled out.
        type Box = { top: number; bottom: number; height: number };
        type Node = { getBoundingClientRect(): Box; contains(other: unknown): boolean };
        const page = globalThis as unknown as { innerHeight: number; document: { getElementById(id: string): Node } };
        const r = (n as unknown as Node).getBoundingClientRect();
        const log = page.document.getElementById('log');
        const l = log.getBoundingClientRect();
        const inLog = !log.contains(n) || (r.top >= l.top - 1 && r.bottom <= l.bottom + 1);
        return r.height > 0 && r.top >= -1 && r.bottom <= page.innerHeight + 1 && inLog;
      });
    for (const [width, height] of [[1280, 800], [390, 844]] as const) {
      await page.setViewportSize({ width, height });
      const galleryBottom = await page.locator('#gallery').evaluate((g) => (g as unknown as { getBoundingClientRect(): { bottom: number } }).getBoundingClientRect().bottom);
      expect(galleryBottom).toBeGreaterThan(height);
      await send(`/generate model:tiny steps:3 seed:${width}`);
      const card = await lastFinishedCard();
      expect(await card.evaluate((n) => n.className)).toContain('succeeded');
      expect(await inView(card)).toBe(true);
      // A refused request (one at a time here: the second is refused while the first runs) shows its error in view.
      await send(`/generate model:tiny sampler:ddpm steps:1000 seed:${width}`);
      const running = page.locator('article.request').nth((await page.locator('article.request').count()) - 1);
      await expect.poll(() => running.locator('.status').textContent(), { timeout: 30_000 }).toMatch(/Queued|Running|Step/);
      await send(`/generate model:tiny steps:2 seed:${width}`);
      const refused = await lastFinishedCard();
      expect(await refused.getByRole('alert').textContent()).toMatch(/at once|running/i);
      expect(await inView(refused.getByRole('alert'))).toBe(true);
      await running.getByRole('button', { name: 'Cancel' }).click();
      await expect.poll(() => running.locator('.status').textContent(), { timeout: 30_000 }).toBe('Cancelled');
      // An inline command error sits by the command box, which stays in view.
      await send('/generate steps:lots');
      expect(await inView(page.locator('#command-error'))).toBe(true);
      expect(await inView(page.getByLabel('Command', { exact: true }))).toBe(true);
      await page.keyboard.press('Escape');
    }
    await page.setViewportSize({ width: 1200, height: 860 });
    expect(errors).toEqual([]);
  });

  it('deletes a finished request of yours from the gallery, after asking, images and all', async () => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    const item = page.locator('#gallery li:has(button.open[aria-label$="(succeeded)"])').first();
    const id = await item.locator('button.open').getAttribute('data-request-id');
    const image = (await (await fetch(`${stack.url}/api/requests/${id!}`)).json()) as { images: { url: string }[] };
    expect(image.images.length).toBeGreaterThan(0);
    let asked = '';
    page.once('dialog', (d) => {
      asked = d.message();
      void d.dismiss();
    });
    await item.getByRole('button', { name: /^Delete / }).click();
    await expect.poll(() => asked).toMatch(/for good/);
    expect((await fetch(`${stack.url}/api/requests/${id!}`)).status).toBe(200);
    page.once('dialog', (d) => void d.accept());
    await item.getByRole('button', { name: /^Delete / }).click();
    await expect.poll(() => page.locator(`#gallery button.open[data-request-id="${id!}"]`).count(), { timeout: 10_000 }).toBe(0);
    expect((await fetch(`${stack.url}/api/requests/${id!}`)).status).toBe(404);
    expect((await fetch(new URL(image.images[0]!.url, stack.url))).status).toBe(404);
  });
});
