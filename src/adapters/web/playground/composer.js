// Sending a command: parsed and checked against the pickers and the attachment (a refusal keeps it in the
// box), echoed as your message, then carried out: a request followed in its card, a comparison, the
// gallery or the help.

import { api } from './api.js';
import { attachedFile, clearAttachment } from './attachment.js';
import { modelSummary } from './captions.js';
import { clearRefusal, input, refuseCommand, rememberCommand } from './command-box.js';
import { parseCommand } from './commands.js';
import { compare } from './compare.js';
import { addMessage, userMessage } from './conversation.js';
import { $, el } from './dom.js';
import { loadGallery } from './gallery.js';
import { pickedModel, withPicked, withPickedSampler } from './pickers.js';
import { requestCard } from './request-card.js';
import { state } from './state.js';
import { submitInto } from './tracking.js';

/** Sends the command `text`; false when it was refused. */
export async function submitCommand(text) {
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

/** `params`: the command's arguments over the pickers' (withPicked, withPickedSampler), checked before the command was accepted. */
async function generate(args, params) {
  const card = requestCard(`generate${params.label !== undefined ? ` · ${params.label}` : ''}${args.sampler ? ` · ${args.sampler}` : ''}${args.steps ? ` · ${args.steps} steps` : ''}`);
  // For the time estimate before this request's own pace is known.
  card.dataset.model = params.model ?? pickedModel();
  card.dataset.sampler = params.sampler ?? 'ddim';
  await submitInto(card, () => api.generate(params));
}

async function interpolate(args) {
  const ends = args.label_a !== undefined ? `${args.label_a} → ${args.label_b}` : `seed ${args.seed_a} → ${args.seed_b}`;
  await submitInto(requestCard(`interpolate · ${ends}`), () => api.interpolate({ model: pickedModel(), ...args }));
}

async function noiseDemo(args, file) {
  const params = { model: args.model || pickedModel(), ...args };
  if (params.denoise_from !== undefined) {
    params.denoiseFrom = params.denoise_from;
    delete params.denoise_from;
  }
  if (!params.model) delete params.model;
  await submitInto(requestCard(`noise demo${file ? ` · ${file.name}` : ''}`), () => api.noiseDemo(params, file));
}

async function invert(args, file) {
  const params = { model: args.model || pickedModel(), ...args };
  if (!params.model) delete params.model;
  await submitInto(requestCard(`invert · ${file.name}${args.steps ? ` · ${args.steps} steps` : ''}`), () => api.invert(params, file));
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
