// The pickers under the command box (model, label and guidance, sampler and its option fields), filled from
// the catalog (GET /api/models, /api/samplers), and how their choices combine with a command's options.

import { api, errorText } from './api.js';
import { modelSummary } from './captions.js';
import { commandError } from './command-box.js';
import { $, el } from './dom.js';
import { fieldTexts, renderOptionFields, typedOptions } from './sampler-options.js';
import { conditioningOf, state } from './state.js';

const modelPicker = $('#model');
const labelPicker = $('#label');
const guidanceField = $('#guidance');
const samplerPicker = $('#sampler');
const optionFields = $('#sampler-options');

/** The model picked under the command box (preselected: the API's default model); '' before the catalog loads. */
export function pickedModel() {
  return modelPicker.value;
}

function defaultModel() {
  return pickedModel() || undefined;
}

/**
 * The command's options over the pickers': the picked label and guidance apply when the command
 * names no label and uses the picked model; a typed label without guidance gets the model's default.
 */
export function withPicked(args) {
  const params = { ...args, model: args.model || defaultModel() };
  if (params.label === undefined && labelPicker.value && params.model === defaultModel()) {
    params.label = labelPicker.value;
    if (params.guidance === undefined && guidanceField.value !== '') params.guidance = Number(guidanceField.value);
  }
  if (!params.model) delete params.model;
  return params;
}

/**
 * /generate's sampler: the command's, else the picked one; its options are the picked fields (when it is the
 * picked sampler) under those typed in the command, typed by its declaration. Throws an Error naming a bad one.
 */
export function withPickedSampler(params) {
  const out = { ...params, sampler: params.sampler || samplerPicker.value || undefined };
  const sampler = state.samplers.find((s) => s.name === out.sampler);
  const texts = { ...(out.sampler === samplerPicker.value ? fieldTexts(optionFields) : {}), ...params.options };
  delete out.options;
  if (!out.sampler) delete out.sampler;
  // An unknown sampler is the API's to report; its options then travel as typed.
  const options = sampler ? typedOptions(sampler, texts) : texts;
  if (Object.keys(options).length > 0) out.options = options;
  return out;
}

/** Fills the label picker with the picked model's classes (hidden for unconditional models) and its default guidance. */
function showModelOptions() {
  const c = conditioningOf(modelPicker.value);
  labelPicker.replaceChildren(el('option', { value: '', text: 'none' }), ...(c ? c.classes.map((name) => el('option', { value: name, text: name })) : []));
  guidanceField.value = c ? String(c.defaultGuidance) : '';
  $('#label-options').hidden = !c;
}

/** Fills the sampler picker (keeping the choice) and shows the chosen sampler's option fields. */
function showSamplers() {
  const chosen = samplerPicker.value || (state.samplers.find((s) => s.name === 'ddim') || state.samplers[0] || {}).name;
  samplerPicker.replaceChildren(...state.samplers.map((s) => el('option', { value: s.name, text: s.name, title: s.description })));
  if (chosen) samplerPicker.value = chosen;
  showOptionFields();
}

function showOptionFields() {
  renderOptionFields(optionFields, state.samplers.find((s) => s.name === samplerPicker.value), el);
  // Folded by default: the fields would otherwise push the conversation up on a small screen.
  $('#sampler-options-box').hidden = optionFields.hidden;
}

export function setupPickers() {
  samplerPicker.addEventListener('change', showOptionFields);
  modelPicker.addEventListener('change', async () => {
    showModelOptions();
    // Step limits depend on the model's training timesteps.
    try {
      state.samplers = (await api.samplers(modelPicker.value)).samplers;
      showSamplers();
    } catch (error) {
      commandError.textContent = `Could not load the samplers of ${modelPicker.value}: ${errorText(error)}`;
    }
  });
}

/** Loads the models and samplers into the pickers and the introduction; the page is ready then. */
export async function loadCatalog() {
  const note = $('#catalog');
  try {
    // Without ?model= the step limits are the default model's, which the picker starts on.
    const [{ models }, { samplers }] = await Promise.all([api.models(), api.samplers()]);
    state.models = models;
    state.samplers = samplers;
    const first = models.find((m) => m.default) || models[0];
    modelPicker.replaceChildren(...models.map((m) => el('option', { value: m.name, text: m.name })));
    if (first) modelPicker.value = first.name;
    showModelOptions();
    showSamplers();
    $('#model-list').replaceChildren(...models.map((m) => el('li', {}, el('strong', { text: m.name }), `: ${m.description ?? `${m.image.width}×${m.image.height} images`}`)));
    note.textContent = models.length
      ? `Models: ${models.map(modelSummary).join(', ')}. Samplers: ${samplers.map((s) => s.name).join(', ')}.`
      : 'No models are installed yet: see the README (models/).';
    document.body.dataset.ready = 'true';
  } catch (error) {
    note.textContent = '';
    note.append(el('span', { class: 'error', text: `Could not load models and samplers: ${errorText(error)}` }));
  }
}
