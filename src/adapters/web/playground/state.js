// What the page knows beyond the DOM: the installed models and samplers (from the API) and the pace
// each model and sampler ran at here, with the look-ups on them.

export const state = { models: [], samplers: [], msPerStep: new Map() };

export function conditioningOf(model) {
  const m = state.models.find((x) => x.name === model);
  return (m && m.conditioning) || null;
}

/** The model's image side in pixels (its width), 32 when the model is not listed. */
export function modelSide(name) {
  const m = state.models.find((x) => x.name === name);
  return m ? m.image.width : 32;
}

export function stepsOf(samplerName) {
  const s = state.samplers.find((x) => x.name === samplerName);
  return s ? s.steps.default : undefined;
}

/** Remembers how long one step took here, per model and sampler, for the next request's time estimate. */
export function noteSpeed(view) {
  const ms = view.timings && view.timings.samplingMs;
  if (view.kind === 'generate' && ms && view.steps) state.msPerStep.set(`${view.model}/${view.sampler}`, ms / view.steps);
}

/** The pace last seen for a model and sampler, in ms per step (undefined before any). */
export function knownPace(model, sampler) {
  return state.msPerStep.get(`${model}/${sampler}`);
}
