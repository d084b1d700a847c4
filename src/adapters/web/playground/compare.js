// /compare and the Compare samplers button: one seed through every installed sampler side by side (DDPM,
// DDIM, the score-based samplers...), each at its default step count, so a sampler dropped into plugins/
// shows up here without an edit.

import { ApiError, api, errorText } from './api.js';
import { seconds } from './captions.js';
import { addMessage } from './conversation.js';
import { el } from './dom.js';
import { refreshGallery } from './gallery.js';
import { withPicked } from './pickers.js';
import { follow, previewSrc } from './request-events.js';
import { noteSpeed, state } from './state.js';

export async function compare(args) {
  const seed = args.seed ?? Math.floor(Math.random() * 2 ** 32);
  const { model, label, guidance } = withPicked(args);
  const labelled = { ...(label !== undefined ? { label } : {}), ...(guidance !== undefined ? { guidance } : {}) };
  const samplers = state.samplers;
  const card = el('article', { class: 'msg bot compare-card' },
    el('header', { class: 'title', text: `${label !== undefined ? `${label}, ` : ''}Seed ${seed} through ${samplers.map((s) => s.name).join(', ')}` }),
  );
  const grid = el('div', { class: 'compare-grid' });
  card.append(grid);
  addMessage(card);
  const columns = samplers.map((s) => {
    const steps = s.steps.default;
    // No src yet: hidden behind a placeholder rather than shown as a broken image.
    const img = el('img', { alt: `${s.name}, seed ${seed}: waiting`, hidden: true });
    const pending = el('div', { class: 'pending', text: 'waiting for the first step' });
    const status = el('p', { class: 'status', role: 'status', text: 'Waiting' });
    const meter = el('progress', { class: 'progress', max: steps, value: 0, 'aria-label': `${s.name} progress` });
    const err = el('p', { class: 'error', role: 'alert' });
    const col = el('section', { 'aria-label': s.name, 'data-sampler': s.name }, el('h3', { text: s.name, title: s.description }), pending, img, meter, status, err);
    grid.append(col);
    return { sampler: s.name, steps, img, pending, status, meter, err };
  });
  // At most two at a time (the default per-user limit); a 429 waits and retries.
  const queue = [...columns];
  const worker = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) await runColumn(c, model, seed, labelled);
  };
  await Promise.all([worker(), worker()]);
}

async function runColumn(c, model, seed, labelled) {
  let submitted;
  const giveUpAt = Date.now() + 10 * 60 * 1000;
  for (;;) {
    try {
      submitted = await api.generate({ ...(model ? { model } : {}), ...labelled, sampler: c.sampler, steps: c.steps, seed });
      break;
    } catch (error) {
      // Too many of your own requests at once: wait for one to finish. Other limits (hourly, queue full) are shown.
      if (error instanceof ApiError && error.status === 429 && error.reason === 'concurrent' && Date.now() < giveUpAt) {
        c.status.textContent = 'Waiting for a free slot…';
        await new Promise((r) => setTimeout(r, Math.min(2, error.retryAfterSeconds || 1) * 1000));
        continue;
      }
      c.status.textContent = 'Not accepted';
      c.err.textContent = errorText(error);
      c.meter.hidden = true;
      return;
    }
  }
  c.status.textContent = 'Queued';
  let lastStep = 0;
  const final = await follow(submitted.id, {
    running: () => (c.status.textContent = 'Running…'),
    progress: (e) => {
      if (e.step <= lastStep) return;
      lastStep = e.step;
      c.meter.max = e.totalSteps;
      c.meter.value = e.step;
      c.status.textContent = `Step ${e.step} of ${e.totalSteps}`;
      const src = previewSrc(e);
      if (src) showColumnImage(c, src);
    },
  });
  c.meter.hidden = true;
  if (final.type !== 'succeeded') {
    c.status.textContent = 'Failed';
    c.err.textContent = final.error || 'the request failed';
    return;
  }
  const view = await api.request(submitted.id);
  const first = view.images.find((i) => i.index === 0);
  if (first) showColumnImage(c, first.url);
  noteSpeed(view);
  c.img.alt = `${c.sampler}, ${view.steps} steps, seed ${seed}`;
  c.img.classList.add('result');
  c.status.textContent = `${view.steps} steps · ${seconds(view.timings && view.timings.samplingMs)}`;
  c.status.dataset.done = 'true';
  refreshGallery();
}

function showColumnImage(c, src) {
  c.img.src = src;
  c.img.hidden = false;
  c.pending.remove();
}
