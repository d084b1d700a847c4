// The command box: its keys (Enter sends via the form; ↑/↓ recall earlier commands, Escape clears, "/"
// anywhere else focuses it), the example commands that fill it, and the line under it that says why a
// command was refused.

import { $ } from './dom.js';

export const input = $('#command');
export const commandError = $('#command-error');
const history = [];
let historyAt = 0;

/** A sent command, recalled with ↑. */
export function rememberCommand(text) {
  history.push(text);
  historyAt = history.length;
}

/** A command that cannot be sent: the reason under the box, in view (on a phone the box may be at the window's edge). */
export function refuseCommand(text) {
  commandError.textContent = text;
  input.setAttribute('aria-invalid', 'true');
  commandError.scrollIntoView({ block: 'nearest' });
}

export function clearRefusal() {
  commandError.textContent = '';
  input.removeAttribute('aria-invalid');
}

export function setupCommandBox() {
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowUp' && historyAt > 0) {
      historyAt -= 1;
      input.value = history[historyAt];
      e.preventDefault();
    } else if (e.key === 'ArrowDown' && historyAt < history.length) {
      historyAt += 1;
      input.value = history[historyAt] || '';
      e.preventDefault();
    } else if (e.key === 'Escape') {
      input.value = '';
      clearRefusal();
    }
  });

  document.addEventListener('keydown', (e) => {
    const t = e.target;
    const typing = t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;
    if (e.key === '/' && !typing) {
      e.preventDefault();
      input.focus();
    }
  });

  for (const b of document.querySelectorAll('button.example')) {
    b.addEventListener('click', () => {
      input.value = b.dataset.command;
      input.focus();
    });
  }
}
