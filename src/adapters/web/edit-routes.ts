/**
 * The HTTP API's variations, interpolations and inversions (docs/http-api.md): shapes checked here, parameters by
 * the service, answered like /api/generate (202 with the request's URL).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { badRequest, readJson, type HttpServer } from '../../server/http.ts';
import type { GenerationService, Requester, Submitted } from '../../jobs/service.ts';
import type { ImageForm } from './image-form.ts';

const jsonObject = z.record(z.unknown());
const sampling = {
  model: z.string().optional(),
  sampler: z.string().optional(),
  steps: z.number().optional(),
  options: jsonObject.optional(),
  label: z.union([z.string(), z.number()]).optional(),
  guidance: z.number().optional(),
};

const varyBody = z
  .object({
    /** Which image of the request (default 0). */
    index: z.number().int().min(0).default(0),
    strength: z.number().optional(),
    seed: z.number().optional(),
    count: z.number().optional(),
    ...sampling,
  })
  .strict();

const invertBody = z
  .object({
    /** Which image of the request (default 0). */
    index: z.number().int().min(0).default(0),
    ...sampling,
  })
  .strict();

/** A number typed into a form field ("12", "2.5"); anything else is left for zod to refuse. */
const formNumber = z.preprocess((v) => (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v), z.number());

/** POST /api/invert's text fields (the file is `image`): the sampling options, no seed or count. */
const invertForm = z
  .object({
    model: z.string().optional(),
    sampler: z.string().optional(),
    steps: formNumber.optional(),
    label: z.string().optional(),
    guidance: formNumber.optional(),
  })
  .strict();

const interpolateBody = z
  .object({
    /** The first end as an image of a stored request (inverted to its x_T) instead of seed_a. */
    from: z.object({ request: z.string(), index: z.number().int().min(0).default(0) }).strict().optional(),
    seed_a: z.number().optional(),
    seed_b: z.number().optional(),
    label_a: z.union([z.string(), z.number()]).optional(),
    label_b: z.union([z.string(), z.number()]).optional(),
    seed: z.number().optional(),
    frames: z.number().optional(),
    ...sampling,
  })
  .strict();

const interpolateWithBody = z
  .object({
    /** The request whose seed ends the interpolation: a finished generation of the caller's (GET /api/requests?partnersOf=:id lists them). */
    to: z.string(),
    frames: z.number().optional(),
  })
  .strict();

export interface EditRouteHelpers {
  requester(req: IncomingMessage): Requester;
  accepted(res: ServerResponse, submitted: Submitted): void;
  /** Parses a body with `schema`, or throws the API's 400 naming the field. */
  parse<T extends z.ZodTypeAny>(schema: T, body: unknown): z.output<T>;
  /** Maps service errors to the API's status codes. */
  mapServiceError(err: unknown): never;
  /** A multipart upload's `image` file and text fields, bounded in size. */
  readImageForm(req: IncomingMessage, url: URL): Promise<ImageForm>;
}

export function registerEditRoutes(http: HttpServer, service: GenerationService, h: EditRouteHelpers): void {
  http.route('POST', '/api/requests/:id/vary', async (req, res, { id }) => {
    const { index, ...params } = h.parse(varyBody, await readJson(req));
    const submitted = await service.submitVariation({ requester: h.requester(req), source: { requestId: id!, index }, params, replyTo: null }).catch(h.mapServiceError);
    h.accepted(res, submitted);
  });

  http.route('POST', '/api/requests/:id/invert', async (req, res, { id }) => {
    const { index, ...params } = h.parse(invertBody, await readJson(req));
    const submitted = await service.submitInversion({ requester: h.requester(req), source: { requestId: id!, index }, params, replyTo: null }).catch(h.mapServiceError);
    h.accepted(res, submitted);
  });

  http.route('POST', '/api/requests/:id/interpolate-with', async (req, res, { id }) => {
    const { to, frames } = h.parse(interpolateWithBody, await readJson(req));
    const submitted = await service.submitInterpolationBetween({ requester: h.requester(req), from: id!, to, frames, replyTo: null }).catch(h.mapServiceError);
    h.accepted(res, submitted);
  });

  http.route('POST', '/api/invert', async (req, res, _params, url) => {
    if (!String(req.headers['content-type'] ?? '').startsWith('multipart/form-data')) throw badRequest('image', 'send multipart/form-data with the image as the file part "image"');
    const form = await h.readImageForm(req, url);
    if (!form.image) throw badRequest('image', 'attach the image to invert as the file part "image"');
    const params = h.parse(invertForm, form.fields);
    const submitted = await service.submitInversion({ requester: h.requester(req), source: { image: form.image }, params, replyTo: null }).catch(h.mapServiceError);
    h.accepted(res, submitted);
  });

  http.route('POST', '/api/interpolate', async (req, res) => {
    const { from, ...params } = h.parse(interpolateBody, await readJson(req));
    const source = from && { requestId: from.request, index: from.index };
    const submitted = await service.submitInterpolation({ requester: h.requester(req), params, from: source, replyTo: null }).catch(h.mapServiceError);
    h.accepted(res, submitted);
  });
}
