// The playground page: parses chat commands, calls the service's HTTP API, follows each request
// over Server-Sent Events and renders previews, results, the gallery and sampler comparisons.
// Plain browser JavaScript: no framework, no build step.

import { ApiError, api, errorText } from './api.js';
import { attachedFile, clearAttachment, setupAttachment } from './attachment.js';
import { labelPrefix, modelSummary, psnrText, remaining, requestCaption, samplerText, seconds, seedText } from './captions.js';
import { clearRefusal, input, refuseCommand, rememberCommand, setupCommandBox } from './command-box.js';
import { parseCommand } from './commands.js';
import { addMessage, log, userMessage } from './conversation.js';
import { $, el } from './dom.js';
import { followEnd, showEnd } from './follow.js';
import { setupInterpolateWith } from './interpolate-with.js';
import { loadCatalog, pickedModel, setupPickers, withPicked, withPickedSampler } from './pickers.js';
import { follow, previewSrc } from './request-events.js';
import { optionPairs } from './sampler-options.js';
import { knownPace, modelSide, noteSpeed, state, stepsOf } from './state.js';
import { downloadEnlarged, openViewer } from './viewer.js';

// ---------------------------------------------------------------------------------------------
// Page state and helpers
// ---------------------------------------------------------------------------------------------

const GALLERY_PAGE = 24;
let galleryLimit = GALLERY_PAGE;
/** Noise-demo frames are shown at this many CSS px per side, whichever picture they are in. */
const FRAME_PX = 96;
followEnd(log);

/** A result image as a button that opens it enlarged, so it works by keyboard too. */
function zoomable(img, name) {
  return el('button', { type: 'button', class: 'zoom', 'aria-label': `Enlarge: ${img.alt}`, onclick: (e) => openViewer(img, name, e.currentTarget) }, img);
}

/** "PNG 1" downloads the image enlarged (the original is 8–32 px); the viewer links the original. */
function pngButton(url, name, text) {
  return el('button', { type: 'button', class: 'link', text, title: 'Download enlarged (nearest neighbour)', onclick: () => void downloadEnlarged(url, name) });
}

// ---------------------------------------------------------------------------------------------
// One request as a chat message
// ---------------------------------------------------------------------------------------------

function requestCard(title) {
  const node = $('#request-template').content.firstElementChild.cloneNode(true);
  $('.title', node).textContent = title;
  return addMessage(node);
}

function setStatus(card, text, cls) {
  $('.status', card).textContent = text;
  card.classList.remove('queued', 'running', 'succeeded', 'failed', 'cancelled');
  if (cls) card.classList.add(cls);
}

function renderParams(card, view) {
  const dl = $('.params', card);
  dl.replaceChildren();
  const rows =
    view.kind === 'invert'
      ? [
          ['model', view.model],
          ...(view.label === null ? [] : [['label', view.label], ['guidance', view.guidance]]),
          ['sampler', view.sampler],
          ['steps', view.steps],
          ...(view.status === 'succeeded' ? [['PSNR', psnrText(view)]] : []),
          ['sampling', seconds(view.timings && view.timings.samplingMs)],
        ]
      : view.kind === 'noise_demo'
      ? [
          ['model', view.model],
          ['seed', view.seed],
          ['timesteps', view.timesteps ? view.timesteps.join(',') : 'default'],
          ['total', seconds(view.timings && view.timings.totalMs)],
        ]
      : [
          ['model', view.model],
          ...(view.label === null ? [] : [['label', view.label], ['guidance', view.guidance]]),
          ['sampler', view.sampler],
          ['steps', view.steps],
          view.interpolation ? ['ends', seedText(view)] : ['seed', view.seed],
          ['count', view.count],
          ...optionPairs(view.options),
          ['sampling', seconds(view.timings && view.timings.samplingMs)],
          ['queued', seconds(view.timings && view.timings.queueMs)],
        ];
  for (const [k, v] of rows) dl.append(el('dt', { text: k }), el('dd', { text: String(v) }));
}

function renderImages(card, view) {
  const box = $('.images', card);
  box.replaceChildren();
  const label = view.kind === 'noise_demo' ? 'Forward process' : `${labelPrefix(view, ', ')}${samplerText(view)}, ${view.steps} steps, ${seedText(view)}`;
  const images = view.images || [];
  const singles = images.filter((i) => typeof i.index === 'number');
  const grid = images.find((i) => i.index === 'grid');
  if (view.kind === 'invert') {
    renderInversion(box, view, images);
  } else if (view.kind === 'noise_demo') {
    // With denoise_from the grid has a second row: DDIM inversion's x_t (no noise), each row ending with its decoding.
    const both = view.params && view.params.denoiseFrom !== null && view.params.denoiseFrom !== undefined;
    const gridName = both ? 'x_t at each timestep: the forward process (top) and DDIM inversion (bottom), each decoded back' : 'x_t at each timestep';
    const names = { grid: gridName, gif: 'animation', 0: 'x₀ (the input)', reconstruction: 'denoised back from x_t' };
    const order = ['grid', 'gif', 0, 'reconstruction'];
    const side = modelSide(view.model);
    for (const index of order) {
      const img = images.find((i) => i.index === index);
      if (!img) continue;
      const node = el('img', { class: 'frames result', src: img.url, alt: `${label}: ${names[index]}, seed ${view.seed}` });
      // The service draws the grid at 64 px and the GIF at 128 px per frame (at least; whole factors), the
      // input and reconstruction at the model's size: undo that so every frame shows at FRAME_PX.
      const drawn = index === 'grid' ? Math.ceil(64 / side) : index === 'gif' ? Math.ceil(128 / side) : 1;
      node.addEventListener('load', () => (node.style.width = `${(node.naturalWidth / (drawn * side)) * FRAME_PX}px`), { once: true });
      const file = `ddpm-noise-${view.seed}-${index}.${index === 'gif' ? 'gif' : 'png'}`;
      box.append(el('figure', {}, zoomable(node, file), el('figcaption', { text: names[index] })));
    }
  } else {
    singles.forEach((img, i) => {
      const node = el('img', { class: 'sample result', src: img.url, alt: `Image ${i + 1} of ${singles.length}: ${label}` });
      const file = `ddpm-${view.seed}-${i}.png`;
      const caption = el('figcaption', {}, pngButton(img.url, file, `PNG ${i + 1}`));
      // As the chat apps' V1…V4: SDEdit variations of this image at the service's default strength.
      if (view.status === 'succeeded') caption.append(varyButton(view, i, singles.length));
      box.append(el('figure', {}, zoomable(node, file), caption));
    });
    if (singles.length === 0 && grid) box.append(zoomable(el('img', { class: 'wide result', src: grid.url, alt: label }), `ddpm-${view.seed}-grid.png`));
    const gif = images.find((i) => i.index === 'gif');
    if (gif) {
      const node = el('img', { class: 'wide result animation', src: gif.url, alt: `Denoising animation of image 1: ${label}` });
      box.append(el('figure', {}, zoomable(node, `ddpm-${view.seed}-denoising.gif`), el('figcaption', {}, el('a', { href: gif.url, download: `ddpm-${view.seed}-denoising.gif`, text: 'denoising animation (GIF)' }))));
    }
  }
}

/**
 * An inversion: the image as the model sees it (Vary under it, as under any result) beside its reconstruction
 * with the PSNR, and a seed field to morph the inverted x_T into that seed's image (POST /api/interpolate from it).
 */
function renderInversion(box, view, images) {
  const source = images.find((i) => i.index === 0);
  const reconstruction = images.find((i) => i.index === 'reconstruction');
  if (source) {
    const caption = el('figcaption', {}, 'your image ', pngButton(source.url, `ddpm-inversion-${view.id}-source.png`, 'PNG'));
    if (view.status === 'succeeded') caption.append(varyButton(view, 0, 1));
    box.append(el('figure', {}, zoomable(el('img', { class: 'sample result', src: source.url, alt: 'Your image as the model sees it' }), `ddpm-inversion-${view.id}-source.png`), caption));
  }
  if (reconstruction) {
    const text = `reconstruction, ${view.steps} steps, PSNR ${psnrText(view)}`;
    const node = el('img', { class: 'sample result reconstruction', src: reconstruction.url, alt: `Reconstruction from its x_T: ${text}` });
    box.append(el('figure', {}, zoomable(node, `ddpm-inversion-${view.id}-reconstruction.png`), el('figcaption', { text })));
  }
  if (view.status !== 'succeeded') return;
  const seed = el('input', { type: 'number', min: '0', max: '4294967295', class: 'interpolate-seed', 'aria-label': 'Seed to morph into', value: String(Math.floor(Math.random() * 2 ** 32)) });
  const go = el('button', { type: 'button', class: 'interpolate-from', text: 'Interpolate to seed' });
  go.onclick = () => runAction(`interpolation from the inverted image to seed ${seed.value}`, () => api.interpolate({ from: { request: view.id, index: 0 }, seed_b: Number(seed.value) }));
  box.append(el('p', { class: 'interpolate-row' }, go, ' ', seed));
}

function varyButton(view, index, count) {
  const button = el('button', { type: 'button', class: 'vary', text: count === 1 ? 'Vary' : `Vary ${index + 1}` });
  button.onclick = () => runAction(`variation of image ${index + 1} of ${labelPrefix(view)}${seedText(view)}`, () => api.vary(view.id, index));
  return button;
}

function setupActions(card, view) {
  const actions = $('.actions', card);
  if (view.kind !== 'generate' || view.status !== 'succeeded') return;
  actions.hidden = false;
  const select = $('.replay-sampler', card);
  select.replaceChildren(...state.samplers.map((s) => el('option', { value: s.name, text: s.name })));
  // Preselect the first other sampler.
  const other = state.samplers.find((s) => s.name !== view.sampler);
  if (other) select.value = other.name;
  // Reroll and replay keep the label and guidance: the service copies them from the original request.
  $('.reroll', card).onclick = () => runAction(`reroll of ${labelPrefix(view)}${view.sampler} seed ${view.seed}`, () => api.reroll(view.id));
  // As the chat buttons: a replay (same trajectory) whose worker records the predicted x0 as a GIF.
  $('.animate', card).onclick = () => runAction(`denoising animation of ${labelPrefix(view)}${view.sampler} seed ${view.seed}`, () => api.replay(view.id, { recordTrajectory: true }));
  $('.replay-go', card).onclick = () => {
    const sampler = select.value;
    // The same sampler keeps the original's steps (a byte-identical rerun); another one starts at its default steps.
    const overrides = sampler === view.sampler ? {} : { sampler, steps: stepsOf(sampler) };
    runAction(`${labelPrefix(view)}seed ${view.seed} with ${sampler}`, () => api.replay(view.id, overrides));
  };
  const labelled = view.label === null ? {} : { label: view.label, guidance: view.guidance };
  $('.compare', card).onclick = () => compare({ model: view.model, seed: view.seed, ...labelled });
  setupInterpolateWith($('.interpolate-with', card), view, {
    partners: api.partners,
    caption: requestCaption,
    start: (title, to) => runAction(title, () => api.interpolateWith(view.id, to)),
    showError: (text) => showError(card, text),
  });
}

async function runAction(label, submit) {
  userMessage(label);
  const card = requestCard(label);
  try {
    const submitted = await submit();
    await track(card, submitted);
  } catch (error) {
    failCard(card, error);
  }
}

function failCard(card, error) {
  setStatus(card, 'Not accepted', 'failed');
  $('.progress', card).hidden = true;
  showError(card, errorText(error));
}

/** An error in a request's message, brought into view: the message grew after it was scrolled to. */
function showError(card, text) {
  const node = $('.error', card);
  node.textContent = text;
  node.scrollIntoView({ block: 'nearest' });
}

/** Shows queue position, live previews and the result of a submitted request in `card`. */
async function track(card, submitted) {
  const progress = $('.progress', card);
  const box = $('.images', card);
  card.dataset.requestId = submitted.id;
  setStatus(card, `Queued${submitted.position ? ` (position ${submitted.position})` : ''}`, 'queued');
  let preview = null;
  let lastStep = 0;
  // Time left: from this request's own pace once two steps are in, before that from the last request of
  // the same model and sampler on this host.
  let firstAt = null;
  let firstStep = 0;
  const timeLeft = (e) => {
    const now = performance.now();
    if (firstAt === null) {
      firstAt = now;
      firstStep = e.step;
    }
    const known = knownPace(card.dataset.model, card.dataset.sampler);
    const pace = e.step > firstStep ? (now - firstAt) / (e.step - firstStep) : known;
    return pace ? ` · ${remaining(pace * (e.totalSteps - e.step))}` : '';
  };
  const cancel = $('.cancel', card);
  cancel.hidden = false;
  cancel.onclick = async () => {
    cancel.disabled = true;
    try {
      await api.cancel(submitted.id);
      setStatus(card, 'Cancelling…', 'running');
    } catch (error) {
      $('.error', card).textContent = errorText(error);
      cancel.disabled = false;
    }
  };
  const final = await follow(submitted.id, {
    queued: (e) => setStatus(card, `Queued (position ${e.position})`, 'queued'),
    running: () => setStatus(card, 'Running…', 'running'),
    progress: (e) => {
      // Progress can arrive out of order (previews are fetched asynchronously): never step back.
      if (e.step <= lastStep) return;
      lastStep = e.step;
      setStatus(card, `Step ${e.step} of ${e.totalSteps}${timeLeft(e)}`, 'running');
      progress.max = e.totalSteps;
      progress.value = e.step;
      const src = previewSrc(e);
      if (src) {
        if (!preview) {
          preview = el('img', { class: 'sample preview', alt: 'Live preview: the predicted clean image x̂₀ at the current step' });
          box.replaceChildren(el('figure', {}, preview, el('figcaption', { class: 'preview-caption' })));
        }
        preview.src = src;
        preview.dataset.step = String(e.step);
        $('.preview-caption', box).textContent = `x̂₀ at step ${e.step}/${e.totalSteps}`;
      }
    },
  });
  progress.hidden = true;
  cancel.hidden = true;
  const view = await api.request(submitted.id).catch(() => null);
  if (final.type === 'succeeded' && view) {
    setStatus(card, view.kind === 'noise_demo' ? 'Done' : `Done in ${seconds(view.timings && view.timings.samplingMs)}`, 'succeeded');
    renderImages(card, view);
    renderParams(card, view);
    setupActions(card, view);
    noteSpeed(view);
    refreshGallery();
  } else if (final.type === 'cancelled') {
    setStatus(card, 'Cancelled', 'cancelled');
  } else {
    setStatus(card, 'Failed', 'failed');
    showError(card, final.error || (view && view.error) || 'the request failed');
    if (view) renderParams(card, view);
  }
  showEnd(log, card);
  return { final, view };
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/** `params`: the command's arguments over the pickers' (withPicked, withPickedSampler), checked before the command was accepted. */
async function generate(args, params) {
  const card = requestCard(`generate${params.label !== undefined ? ` · ${params.label}` : ''}${args.sampler ? ` · ${args.sampler}` : ''}${args.steps ? ` · ${args.steps} steps` : ''}`);
  // For the time estimate before this request's own pace is known.
  card.dataset.model = params.model ?? pickedModel();
  card.dataset.sampler = params.sampler ?? 'ddim';
  try {
    await track(card, await api.generate(params));
  } catch (error) {
    failCard(card, error);
  }
}

async function interpolate(args) {
  const ends = args.label_a !== undefined ? `${args.label_a} → ${args.label_b}` : `seed ${args.seed_a} → ${args.seed_b}`;
  const card = requestCard(`interpolate · ${ends}`);
  try {
    await track(card, await api.interpolate({ model: pickedModel(), ...args }));
  } catch (error) {
    failCard(card, error);
  }
}

async function noiseDemo(args, file) {
  const params = { model: args.model || pickedModel(), ...args };
  if (params.denoise_from !== undefined) {
    params.denoiseFrom = params.denoise_from;
    delete params.denoise_from;
  }
  if (!params.model) delete params.model;
  const card = requestCard(`noise demo${file ? ` · ${file.name}` : ''}`);
  try {
    await track(card, await api.noiseDemo(params, file));
  } catch (error) {
    failCard(card, error);
  }
}

async function invert(args, file) {
  const params = { model: args.model || pickedModel(), ...args };
  if (!params.model) delete params.model;
  const card = requestCard(`invert · ${file.name}${args.steps ? ` · ${args.steps} steps` : ''}`);
  try {
    await track(card, await api.invert(params, file));
  } catch (error) {
    failCard(card, error);
  }
}

/**
 * One seed through every installed sampler side by side (DDPM, DDIM, the score-based samplers...), each at its
 * default step count: a sampler dropped into plugins/ shows up here without an edit.
 */
async function compare(args) {
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

function help() {
  const details = $('#command-help');
  details.open = true;
  // Each sampler with the paper it implements (its description) and its step range.
  const samplers = state.samplers.map((s) => el('li', {}, el('strong', { text: s.name }), `: ${s.description} (steps ${s.steps.min}–${s.steps.max}, default ${s.steps.default})`));
  addMessage(el('article', { class: 'msg bot help-card' },
    el('p', { text: `Commands are listed under the box. Models: ${state.models.map(modelSummary).join(', ') || 'none installed'}. Samplers:` }),
    samplers.length ? el('ul', { class: 'sampler-list' }, ...samplers) : el('p', { text: 'none installed' }),
  ));
}

async function submitCommand(text) {
  clearRefusal();
  let command;
  let params;
  try {
    command = parseCommand(text, state.samplers);
    // A sampler option the chosen sampler does not take, or a bad value, is refused like a typo: the command stays in the box.
    if (command.name === '/generate') params = withPickedSampler(withPicked(command.args));
  } catch (error) {
    refuseCommand(error.message);
    return false;
  }
  const file = attachedFile();
  if (file && command.name !== '/noise-demo' && command.name !== '/invert') {
    refuseCommand('The attached image is only used by /noise-demo and /invert; remove it or use one of them.');
    return false;
  }
  if (!file && command.name === '/invert') {
    refuseCommand('/invert needs an image: attach a PNG or JPEG with the paperclip button.');
    return false;
  }
  rememberCommand(text);
  userMessage(text + (file ? `  [image: ${file.name}]` : ''));
  input.value = '';
  if (command.name === '/generate') void generate(command.args, params);
  else if (command.name === '/noise-demo') {
    clearAttachment();
    void noiseDemo(command.args, file);
  } else if (command.name === '/compare') void compare(command.args);
  else if (command.name === '/interpolate') void interpolate(command.args);
  else if (command.name === '/invert') {
    clearAttachment();
    void invert(command.args, file);
  }
  else if (command.name === '/history') {
    await loadGallery();
    addMessage(el('article', { class: 'msg bot' }, el('p', { text: 'Your past requests are in the Gallery; open one to see it here.' })));
    $('#gallery button.open')?.focus();
  } else help();
  return true;
}

// ---------------------------------------------------------------------------------------------
// Gallery
// ---------------------------------------------------------------------------------------------

let galleryTimer = null;
function refreshGallery() {
  clearTimeout(galleryTimer);
  galleryTimer = setTimeout(loadGallery, 200);
}

async function loadGallery() {
  const list = $('#gallery');
  const err = $('#gallery-error');
  try {
    const requests = await api.recent(galleryLimit);
    err.textContent = '';
    // A debounced refresh can land while someone is using the list: keep their focus on the same request.
    const focusedId = list.contains(document.activeElement) ? document.activeElement.dataset.requestId : undefined;
    list.replaceChildren(
      ...requests.map((r) => {
        const thumb = r.images.find((i) => i.index === 0) || r.images.find((i) => i.index === 'grid') || r.images.find((i) => i.index === 'gif');
        noteSpeed(r);
        const caption = requestCaption(r);
        const body = thumb ? el('img', { src: thumb.url, alt: '', loading: 'lazy' }) : el('span', { class: 'placeholder', text: r.status });
        const open = el('button', { type: 'button', class: 'open', 'data-request-id': r.id, 'aria-label': `Open ${caption} (${r.status})`, onclick: () => openFromGallery(r.id) }, body, el('span', { text: caption }));
        const finished = ['succeeded', 'failed', 'cancelled'].includes(r.status);
        return el('li', {}, open, finished ? el('button', { type: 'button', class: 'delete small', 'aria-label': `Delete ${caption}`, text: 'Delete', onclick: () => deleteFromGallery(r.id, caption) }) : null);
      }),
    );
    if (requests.length === 0) list.replaceChildren(el('li', { class: 'muted', text: 'Nothing yet.' }));
    // A full page means there may be more; the API returns at most 100.
    $('#gallery-more').hidden = requests.length < galleryLimit || galleryLimit >= 100;
    if (focusedId !== undefined) (list.querySelector(`button[data-request-id="${focusedId}"]`) || list.querySelector('button.open'))?.focus();
  } catch (error) {
    err.textContent = `Could not load the gallery: ${errorText(error)}`;
  }
}

/** Deletes one of your finished requests with its images, for good, after asking. */
async function deleteFromGallery(id, caption) {
  if (!confirm(`Delete ${caption} and its images for good?`)) return;
  try {
    await api.remove(id);
    $('#gallery-error').textContent = '';
    await loadGallery();
  } catch (error) {
    $('#gallery-error').textContent = errorText(error);
  }
}

async function openFromGallery(id) {
  try {
    const view = await api.request(id);
    const card = requestCard(view.kind === 'noise_demo' ? 'noise demo (from the gallery)' : `${labelPrefix(view)}${view.sampler} · ${view.steps} steps (from the gallery)`);
    if (['queued', 'running'].includes(view.status)) {
      await track(card, { id, position: null });
      return;
    }
    $('.progress', card).hidden = true;
    setStatus(card, view.status === 'succeeded' ? `Done in ${seconds(view.timings && view.timings.samplingMs)}` : view.status, view.status);
    if (view.error) $('.error', card).textContent = view.error;
    renderImages(card, view);
    renderParams(card, view);
    setupActions(card, view);
    $('button', card)?.focus();
  } catch (error) {
    $('#gallery-error').textContent = errorText(error);
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------------------------

$('#composer').addEventListener('submit', (e) => {
  e.preventDefault();
  void submitCommand(input.value);
});

$('#gallery-refresh').addEventListener('click', () => void loadGallery());
$('#gallery-more').addEventListener('click', () => {
  galleryLimit = Math.min(100, galleryLimit + GALLERY_PAGE);
  void loadGallery();
});

setupCommandBox();
setupAttachment();
setupPickers();

void loadCatalog();
void loadGallery();
