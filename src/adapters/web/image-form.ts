/**
 * The multipart body of an image upload (POST /api/noise-demo, POST /api/invert): one file part `image` and
 * text fields. Every part is used or refused by name, so nothing a client sends is dropped silently.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError, badRequest, toWebRequest } from '../../server/http.ts';

export interface ImageForm {
  /** The text parts by name, as sent. */
  readonly fields: Readonly<Record<string, string>>;
  readonly image?: Buffer | undefined;
}

export async function readImageForm(req: IncomingMessage, url: URL, maxBytes: number): Promise<ImageForm> {
  let form: FormData;
  try {
    form = await (await toWebRequest(req, url, maxBytes)).formData();
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, { error: 'validation', field: 'body', message: 'malformed multipart body' });
  }
  const fields: Record<string, string> = {};
  let image: Buffer | undefined;
  const seen = new Set<string>();
  for (const [key, value] of form.entries()) {
    if (key === '__proto__') throw badRequest(key, '"__proto__" is not a field');
    if (seen.has(key)) throw badRequest(key, `${key} is given more than once`);
    seen.add(key);
    if (key === 'image') {
      if (typeof value === 'string') throw badRequest('image', 'image must be a file');
      if (value.size === 0) throw badRequest('image', 'the image file is empty (0 bytes)');
      image = Buffer.from(await value.arrayBuffer());
    } else if (typeof value === 'string') {
      fields[key] = value;
    } else {
      throw badRequest(key, `${key} must be a text field; only image is a file`);
    }
  }
  return { fields, image };
}
