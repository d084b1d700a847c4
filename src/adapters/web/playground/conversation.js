// The conversation: messages are appended to #log, which scrolls in its own region, so a tall gallery
// never pushes new messages out of sight.

import { $, el } from './dom.js';
import { showEnd } from './follow.js';

export const log = $('#log');

export function addMessage(node) {
  log.append(node);
  showEnd(log, node);
  return node;
}

export function userMessage(text) {
  return addMessage(el('article', { class: 'msg user', text }));
}
