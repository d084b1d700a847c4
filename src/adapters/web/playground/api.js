// The service's HTTP API as the page calls it (src/adapters/web/api.ts and src/adapters/web/playground.ts),
// and the error it throws: a refused or failed call carries the API's status, field and retry hint.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.error)) || `HTTP ${status}`);
    this.status = status;
    this.field = body && body.field;
    this.retryAfterSeconds = body && body.retryAfterSeconds;
    this.reason = body && body.reason;
  }
}

async function call(method, url, body) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch {
    throw new ApiError(0, { error: 'the service is not reachable; is it running?' });
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { error: text.slice(0, 200) || res.statusText };
  }
  if (!res.ok) {
    if (res.status === 429 && json && json.retryAfterSeconds === undefined) {
      json.retryAfterSeconds = Number(res.headers.get('Retry-After')) || undefined;
    }
    throw new ApiError(res.status, json);
  }
  return json;
}

/** The API's request JSON ({ params: {...}, images: [{ index, url }] }) flattened for rendering. */
function normalize(v) {
  const p = v.params || {};
  return {
    ...v,
    model: p.model ?? v.model,
    sampler: p.sampler ?? v.sampler ?? null,
    steps: p.steps ?? v.steps ?? null,
    options: p.options ?? {},
    label: p.label ?? null,
    guidance: p.guidance ?? null,
    count: p.count ?? v.count ?? 1,
    seed: v.seed ?? p.seed,
    timesteps: p.timesteps ?? null,
    images: v.images || [],
  };
}

/** `params` as multipart fields beside an image (lists as "a,b,c"). */
function withImage(params, file) {
  const form = new FormData();
  for (const [k, v] of Object.entries(params)) form.append(k, Array.isArray(v) ? v.join(',') : String(v));
  if (file) form.append('image', file, file.name);
  return form;
}

export const api = {
  models: () => call('GET', '/api/models'),
  samplers: (model) => call('GET', `/api/samplers${model ? `?model=${encodeURIComponent(model)}` : ''}`),
  recent: async (n) => (await call('GET', `/api/requests?limit=${n}`)).requests.map(normalize),
  // Callers name the model (the picked one, see pickers.js withPicked).
  generate: (params) => call('POST', '/api/generate', params),
  noiseDemo: (params, file) => call('POST', '/api/noise-demo', withImage(params, file)),
  request: async (id) => normalize(await call('GET', `/api/requests/${id}`)),
  cancel: (id) => call('DELETE', `/api/requests/${id}`),
  remove: (id) => call('POST', `/api/requests/${id}/delete`),
  reroll: (id) => call('POST', `/api/requests/${id}/replay`, { newSeed: true }),
  replay: (id, overrides) => call('POST', `/api/requests/${id}/replay`, overrides || {}),
  vary: (id, index) => call('POST', `/api/requests/${id}/vary`, { index }),
  interpolate: (params) => call('POST', '/api/interpolate', params),
  // As the chat apps' menu: the 50 most recent requests, of which the service keeps those this one can morph into.
  partners: async (id) => (await call('GET', `/api/requests?limit=50&partnersOf=${encodeURIComponent(id)}`)).requests.map(normalize),
  interpolateWith: (id, to) => call('POST', `/api/requests/${id}/interpolate-with`, { to }),
  invert: (params, file) => call('POST', '/api/invert', withImage(params, file)),
  events: (id) => new EventSource(`/api/requests/${id}/events`),
};

/** An error as the page shows it; a rate limit says when to try again. */
export function errorText(error) {
  if (error instanceof ApiError && error.status === 429) {
    return `${error.message}${error.retryAfterSeconds ? ` (try again in ${error.retryAfterSeconds} s)` : ''}`;
  }
  return error.message || String(error);
}
