/**
 * Request bodies, bounded on the stream itself: a chunked body without Content-Length is cut off
 * at the limit like a declared one, before any parser (JSON, multipart, Bolt) sees a byte of it.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { HttpError, badRequest } from './errors.ts';

/**
 * 413, with a lingering close: the rest of the body is read and thrown away for a moment so the
 * client gets to read the answer (closing a socket with unread input resets the connection, and the
 * reset can destroy the answer in the client's buffer), then a body still arriving is cut off.
 */
function tooLarge(req: IncomingMessage, limitBytes: number): HttpError {
  req.resume();
  setTimeout(() => {
    if (!req.complete) req.socket.destroy();
  }, 1000).unref();
  return new HttpError(413, { error: 'too_large', message: `body larger than ${limitBytes} bytes` });
}

/** Reads the whole body, refusing more than `limitBytes` with 413 and a body cut off mid-way with 400. */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > limitBytes) return Promise.reject(tooLarge(req, limitBytes));
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (err?: HttpError) => {
      req.off('data', onData).off('end', onEnd).off('error', onCut).off('close', onClose);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) finish(tooLarge(req, limitBytes));
      else chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onCut = () => finish(badRequest('body', 'the request body was cut off before its end'));
    const onClose = () => {
      if (!req.complete) onCut();
    };
    req.on('data', onData).on('end', onEnd).on('error', onCut).on('close', onClose);
  });
}

/** The path of the first `__proto__` key, which JSON.parse keeps but every object spread silently drops. */
function protoKeyPath(value: unknown): string | null {
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    for (const [k, child] of Object.entries(v)) {
      const at = path ? `${path}.${k}` : k;
      if (k === '__proto__') return at;
      stack.push([child, at]);
    }
  }
  return null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a JSON body (empty = {}); 400 naming "body" when it is not UTF-8 JSON, or the `__proto__` key it carries. */
export async function readJson(req: IncomingMessage, limitBytes = 64 * 1024): Promise<unknown> {
  const raw = await readBody(req, limitBytes);
  if (raw.length === 0) return {};
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw badRequest('body', 'body is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    throw badRequest('body', 'body is not valid JSON');
  }
  const proto = protoKeyPath(value);
  if (proto !== null) throw badRequest(proto, `${proto}: "__proto__" is not an accepted key`);
  return value;
}

/** A WHATWG Request over the Node request, for `formData()` (multipart) parsing; the body is read (bounded) first. */
export async function toWebRequest(req: IncomingMessage, url: URL, limitBytes: number): Promise<Request> {
  const body = await readBody(req, limitBytes);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  }
  return new Request(url, { method: req.method ?? 'GET', headers, body: Readable.toWeb(Readable.from([body])) as ReadableStream, duplex: 'half' } as RequestInit);
}
