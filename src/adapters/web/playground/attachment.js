// The image attached with the paperclip for /noise-demo or /invert: a note naming it with a Remove button.

import { input } from './command-box.js';
import { $, el } from './dom.js';

const fileInput = $('#image');

export function attachedFile() {
  return fileInput.files && fileInput.files[0];
}

export function clearAttachment() {
  fileInput.value = '';
  $('#attachment').textContent = '';
}

export function setupAttachment() {
  fileInput.addEventListener('change', () => {
    const file = attachedFile();
    const note = $('#attachment');
    note.replaceChildren();
    if (!file) return;
    note.append(
      `Attached ${file.name} (${Math.ceil(file.size / 1024)} KB) for /noise-demo or /invert. `,
      el('button', { type: 'button', class: 'link', text: 'Remove', onclick: () => { clearAttachment(); input.focus(); } }),
    );
    if (!input.value.trim()) input.value = '/noise-demo ';
    input.focus();
  });
}
