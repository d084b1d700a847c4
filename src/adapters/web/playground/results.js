// A finished request's results in its card: the images (each enlargeable and downloadable, with Vary under
// a result) and its parameters. `run(title, submit)` starts the request a button asks for (tracking.js
// runAction, passed in because it shows its results through this module).

import { api } from './api.js';
import { labelPrefix, psnrText, samplerText, seconds, seedText } from './captions.js';
import { $, el } from './dom.js';
import { optionPairs } from './sampler-options.js';
import { modelSide } from './state.js';
import { downloadEnlarged, openViewer } from './viewer.js';

/** Noise-demo frames are shown at this many CSS px per side, whichever picture they are in. */
const FRAME_PX = 96;

/** A result image as a button that opens it enlarged, so it works by keyboard too. */
function zoomable(img, name) {
  return el('button', { type: 'button', class: 'zoom', 'aria-label': `Enlarge: ${img.alt}`, onclick: (e) => openViewer(img, name, e.currentTarget) }, img);
}

/** "PNG 1" downloads the image enlarged (the original is 8–32 px); the viewer links the original. */
function pngButton(url, name, text) {
  return el('button', { type: 'button', class: 'link', text, title: 'Download enlarged (nearest neighbour)', onclick: () => void downloadEnlarged(url, name) });
}

export function renderParams(card, view) {
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

export function renderImages(card, view, run) {
  const box = $('.images', card);
  box.replaceChildren();
  const label = view.kind === 'noise_demo' ? 'Forward process' : `${labelPrefix(view, ', ')}${samplerText(view)}, ${view.steps} steps, ${seedText(view)}`;
  const images = view.images || [];
  if (view.kind === 'invert') renderInversion(box, view, images, run);
  else if (view.kind === 'noise_demo') renderNoiseDemo(box, view, images, label);
  else renderSamples(box, view, images, label, run);
}

function renderNoiseDemo(box, view, images, label) {
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
}

/** Generated images (or an interpolation's frames): each with its PNG and Vary buttons, else the grid; and the denoising GIF. */
function renderSamples(box, view, images, label, run) {
  const singles = images.filter((i) => typeof i.index === 'number');
  const grid = images.find((i) => i.index === 'grid');
  singles.forEach((img, i) => {
    const node = el('img', { class: 'sample result', src: img.url, alt: `Image ${i + 1} of ${singles.length}: ${label}` });
    const file = `ddpm-${view.seed}-${i}.png`;
    const caption = el('figcaption', {}, pngButton(img.url, file, `PNG ${i + 1}`));
    // As the chat apps' V1…V4: SDEdit variations of this image at the service's default strength.
    if (view.status === 'succeeded') caption.append(varyButton(view, i, singles.length, run));
    box.append(el('figure', {}, zoomable(node, file), caption));
  });
  if (singles.length === 0 && grid) box.append(zoomable(el('img', { class: 'wide result', src: grid.url, alt: label }), `ddpm-${view.seed}-grid.png`));
  const gif = images.find((i) => i.index === 'gif');
  if (gif) {
    const node = el('img', { class: 'wide result animation', src: gif.url, alt: `Denoising animation of image 1: ${label}` });
    box.append(el('figure', {}, zoomable(node, `ddpm-${view.seed}-denoising.gif`), el('figcaption', {}, el('a', { href: gif.url, download: `ddpm-${view.seed}-denoising.gif`, text: 'denoising animation (GIF)' }))));
  }
}

/**
 * An inversion: the image as the model sees it (Vary under it, as under any result) beside its reconstruction
 * with the PSNR, and a seed field to morph the inverted x_T into that seed's image (POST /api/interpolate from it).
 */
function renderInversion(box, view, images, run) {
  const source = images.find((i) => i.index === 0);
  const reconstruction = images.find((i) => i.index === 'reconstruction');
  if (source) {
    const caption = el('figcaption', {}, 'your image ', pngButton(source.url, `ddpm-inversion-${view.id}-source.png`, 'PNG'));
    if (view.status === 'succeeded') caption.append(varyButton(view, 0, 1, run));
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
  go.onclick = () => run(`interpolation from the inverted image to seed ${seed.value}`, () => api.interpolate({ from: { request: view.id, index: 0 }, seed_b: Number(seed.value) }));
  box.append(el('p', { class: 'interpolate-row' }, go, ' ', seed));
}

function varyButton(view, index, count, run) {
  const button = el('button', { type: 'button', class: 'vary', text: count === 1 ? 'Vary' : `Vary ${index + 1}` });
  button.onclick = () => run(`variation of image ${index + 1} of ${labelPrefix(view)}${seedText(view)}`, () => api.vary(view.id, index));
  return button;
}
