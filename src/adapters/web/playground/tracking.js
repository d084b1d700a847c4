// A submitted request followed in its card to the end: queue position, step, time left and live previews
// while it runs, then its results, parameters and buttons (or why it failed).

import { setupActions } from './actions.js';
import { api, errorText } from './api.js';
import { labelPrefix, remaining, seconds } from './captions.js';
import { log, userMessage } from './conversation.js';
import { $, el } from './dom.js';
import { showEnd } from './follow.js';
import { refreshGallery } from './gallery.js';
import { failCard, requestCard, setStatus, showError } from './request-card.js';
import { follow, previewSrc } from './request-events.js';
import { renderImages, renderParams } from './results.js';
import { knownPace, noteSpeed } from './state.js';

/** Submits a request (`submit` resolves with the API's answer) and follows it in `card`; a refusal fails the card. */
export async function submitInto(card, submit) {
  try {
    await track(card, await submit());
  } catch (error) {
    failCard(card, error);
  }
}

/** A request a result's button starts: echoed as the user's message, then followed in its own card. */
async function runAction(label, submit) {
  userMessage(label);
  await submitInto(requestCard(label), submit);
}

/** A finished request's images, parameters and (for a succeeded /generate) buttons. */
function showResult(card, view) {
  renderImages(card, view, runAction);
  renderParams(card, view);
  setupActions(card, view, runAction);
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
    showResult(card, view);
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
}

/** A stored request (from the gallery) in a new card: followed if it is still running, else shown as it ended. */
export async function openRequest(id) {
  const view = await api.request(id);
  const card = requestCard(view.kind === 'noise_demo' ? 'noise demo (from the gallery)' : `${labelPrefix(view)}${view.sampler} · ${view.steps} steps (from the gallery)`);
  if (['queued', 'running'].includes(view.status)) {
    await track(card, { id, position: null });
    return;
  }
  $('.progress', card).hidden = true;
  setStatus(card, view.status === 'succeeded' ? `Done in ${seconds(view.timings && view.timings.samplingMs)}` : view.status, view.status);
  if (view.error) $('.error', card).textContent = view.error;
  showResult(card, view);
  $('button', card)?.focus();
}
