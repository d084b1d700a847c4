// One request as a chat message: the card cloned from #request-template, its status line and its error.

import { errorText } from './api.js';
import { addMessage } from './conversation.js';
import { $ } from './dom.js';

export function requestCard(title) {
  const node = $('#request-template').content.firstElementChild.cloneNode(true);
  $('.title', node).textContent = title;
  return addMessage(node);
}

export function setStatus(card, text, cls) {
  $('.status', card).textContent = text;
  card.classList.remove('queued', 'running', 'succeeded', 'failed', 'cancelled');
  if (cls) card.classList.add(cls);
}

/** A request the API did not accept. */
export function failCard(card, error) {
  setStatus(card, 'Not accepted', 'failed');
  $('.progress', card).hidden = true;
  showError(card, errorText(error));
}

/** An error in a request's message, brought into view: the message grew after it was scrolled to. */
export function showError(card, text) {
  const node = $('.error', card);
  node.textContent = text;
  node.scrollIntoView({ block: 'nearest' });
}
