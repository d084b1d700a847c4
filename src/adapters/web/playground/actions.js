// The buttons under a succeeded /generate result, as the chat apps': reroll, animation, replay with
// another sampler, compare samplers and interpolate with another result. `run(title, submit)` starts the
// request a button asks for (tracking.js runAction, passed in because it shows results through this module).

import { api } from './api.js';
import { labelPrefix, requestCaption } from './captions.js';
import { compare } from './compare.js';
import { $, el } from './dom.js';
import { setupInterpolateWith } from './interpolate-with.js';
import { showError } from './request-card.js';
import { state, stepsOf } from './state.js';

export function setupActions(card, view, run) {
  const actions = $('.actions', card);
  if (view.kind !== 'generate' || view.status !== 'succeeded') return;
  actions.hidden = false;
  const select = $('.replay-sampler', card);
  select.replaceChildren(...state.samplers.map((s) => el('option', { value: s.name, text: s.name })));
  // Preselect the first other sampler.
  const other = state.samplers.find((s) => s.name !== view.sampler);
  if (other) select.value = other.name;
  // Reroll and replay keep the label and guidance: the service copies them from the original request.
  $('.reroll', card).onclick = () => run(`reroll of ${labelPrefix(view)}${view.sampler} seed ${view.seed}`, () => api.reroll(view.id));
  // As the chat buttons: a replay (same trajectory) whose worker records the predicted x0 as a GIF.
  $('.animate', card).onclick = () => run(`denoising animation of ${labelPrefix(view)}${view.sampler} seed ${view.seed}`, () => api.replay(view.id, { recordTrajectory: true }));
  $('.replay-go', card).onclick = () => {
    const sampler = select.value;
    // The same sampler keeps the original's steps (a byte-identical rerun); another one starts at its default steps.
    const overrides = sampler === view.sampler ? {} : { sampler, steps: stepsOf(sampler) };
    run(`${labelPrefix(view)}seed ${view.seed} with ${sampler}`, () => api.replay(view.id, overrides));
  };
  const labelled = view.label === null ? {} : { label: view.label, guidance: view.guidance };
  $('.compare', card).onclick = () => compare({ model: view.model, seed: view.seed, ...labelled });
  setupInterpolateWith($('.interpolate-with', card), view, {
    partners: api.partners,
    caption: requestCaption,
    start: (title, to) => run(title, () => api.interpolateWith(view.id, to)),
    showError: (text) => showError(card, text),
  });
}
