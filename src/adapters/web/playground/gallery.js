// The gallery: your past requests from the database, newest first, a page at a time, each to open in the
// conversation or delete. Refreshed (debounced) whenever a request finishes.

import { api, errorText } from './api.js';
import { requestCaption } from './captions.js';
import { $, el } from './dom.js';
import { noteSpeed } from './state.js';

const PAGE = 24;
// The API returns at most 100.
const MAX = 100;
let limit = PAGE;
let refreshTimer = null;
/** Shows a stored request in the conversation: tracking.js openRequest, passed in by setupGallery (it imports this module). */
let openRequest;

/** Wires Refresh and Show more; `open(id)` shows a request in the conversation. */
export function setupGallery(open) {
  openRequest = open;
  $('#gallery-refresh').addEventListener('click', () => void loadGallery());
  $('#gallery-more').addEventListener('click', () => {
    limit = Math.min(MAX, limit + PAGE);
    void loadGallery();
  });
}

export function refreshGallery() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(loadGallery, 200);
}

export async function loadGallery() {
  const list = $('#gallery');
  const err = $('#gallery-error');
  try {
    const requests = await api.recent(limit);
    err.textContent = '';
    // A debounced refresh can land while someone is using the list: keep their focus on the same request.
    const focusedId = list.contains(document.activeElement) ? document.activeElement.dataset.requestId : undefined;
    list.replaceChildren(
      ...requests.map((r) => {
        const thumb = r.images.find((i) => i.index === 0) || r.images.find((i) => i.index === 'grid') || r.images.find((i) => i.index === 'gif');
        noteSpeed(r);
        const caption = requestCaption(r);
        const body = thumb ? el('img', { src: thumb.url, alt: '', loading: 'lazy' }) : el('span', { class: 'placeholder', text: r.status });
        const open = el('button', { type: 'button', class: 'open', 'data-request-id': r.id, 'aria-label': `Open ${caption} (${r.status})`, onclick: () => openFromGallery(r.id) }, body, el('span', { text: caption }));
        const finished = ['succeeded', 'failed', 'cancelled'].includes(r.status);
        return el('li', {}, open, finished ? el('button', { type: 'button', class: 'delete small', 'aria-label': `Delete ${caption}`, text: 'Delete', onclick: () => deleteFromGallery(r.id, caption) }) : null);
      }),
    );
    if (requests.length === 0) list.replaceChildren(el('li', { class: 'muted', text: 'Nothing yet.' }));
    // A full page means there may be more.
    $('#gallery-more').hidden = requests.length < limit || limit >= MAX;
    if (focusedId !== undefined) (list.querySelector(`button[data-request-id="${focusedId}"]`) || list.querySelector('button.open'))?.focus();
  } catch (error) {
    err.textContent = `Could not load the gallery: ${errorText(error)}`;
  }
}

/** Deletes one of your finished requests with its images, for good, after asking. */
async function deleteFromGallery(id, caption) {
  if (!confirm(`Delete ${caption} and its images for good?`)) return;
  try {
    await api.remove(id);
    $('#gallery-error').textContent = '';
    await loadGallery();
  } catch (error) {
    $('#gallery-error').textContent = errorText(error);
  }
}

async function openFromGallery(id) {
  try {
    await openRequest(id);
  } catch (error) {
    $('#gallery-error').textContent = errorText(error);
  }
}
