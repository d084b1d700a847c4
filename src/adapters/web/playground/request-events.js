// One request's Server-Sent Events (GET /api/requests/:id/events), followed to its final event.

import { api } from './api.js';

const FINAL = ['succeeded', 'failed', 'cancelled'];

/** Follows one request's events until its final event; calls handlers; resolves with the final event. */
export function follow(id, handlers) {
  return new Promise((resolve) => {
    const source = api.events(id);
    let finished = false;
    const finish = (event) => {
      if (finished) return;
      finished = true;
      source.close();
      resolve(event);
    };
    const dispatch = (type, raw) => {
      let data = {};
      try {
        data = raw ? JSON.parse(raw) : {};
      } catch {
        return;
      }
      // The API names the final event "done" (succeeded) or "failed" (with cancelled: true when cancelled).
      let kind = data.type || type;
      if (kind === 'done') kind = data.status || 'succeeded';
      if (kind === 'failed' && data.cancelled) kind = 'cancelled';
      handlers[kind] && handlers[kind](data);
      if (FINAL.includes(kind)) finish({ ...data, type: kind });
    };
    for (const type of ['queued', 'running', 'progress', 'done', ...FINAL]) {
      source.addEventListener(type, (e) => dispatch(type, e.data));
    }
    source.onmessage = (e) => dispatch('message', e.data);
    source.onerror = async () => {
      // The stream dropped (server restart, proxy timeout): ask for the state once; EventSource retries by itself.
      if (finished) return;
      try {
        const view = await api.request(id);
        if (FINAL.includes(view.status)) {
          dispatch(view.status, JSON.stringify({ type: view.status, requestId: id, images: view.images, error: view.error }));
        }
      } catch {
        /* keep waiting for the reconnect */
      }
    };
  });
}

/** A progress event's preview as an image src (a URL, or its PNG as a data URL), null when it has none. */
export function previewSrc(event) {
  if (event.previewUrl) return event.previewUrl;
  const png = event.previewPng || event.preview;
  if (!png) return null;
  return png.startsWith('data:') || png.startsWith('/') ? png : `data:image/png;base64,${png}`;
}
