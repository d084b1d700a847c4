/**
 * HTTP/1.1 over a bare socket, so a request can be anything a hostile client could send: a
 * malformed Host, an absolute-form target, invalid UTF-8, a chunked body that never ends, bytes
 * trickled slowly. Resolves with the status line the server answered, or how it failed to answer.
 */
import net from 'node:net';

export type RawOutcome = 'response' | 'closed' | 'hang';

export interface RawResult {
  readonly outcome: RawOutcome;
  readonly status: number | null;
  /** Milliseconds from the first byte sent to the status line (or to the close / the timeout). */
  readonly ms: number;
  readonly body: string;
}

export interface RawOptions {
  /** No status line within this long is a hang (default 5 s). */
  readonly timeoutMs?: number;
  /** Sent one after another with `gapMs` between them (slow clients); a stall is a long gap. */
  readonly gapMs?: number;
  /** After the parts, keep sending this chunk every `gapMs` until the server answers (chunked bodies that never end). */
  readonly endless?: Buffer;
}

export function sendRaw(port: number, parts: ReadonlyArray<Buffer | string>, options: RawOptions = {}): Promise<RawResult> {
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let status: number | null = null;
    let statusMs = 0;
    let settled = false;
    let pump: NodeJS.Timeout | undefined;
    const finish = (outcome: RawOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(pump);
      socket.destroy();
      const text = received.toString('latin1');
      const body = text.includes('\r\n\r\n') ? text.slice(text.indexOf('\r\n\r\n') + 4) : '';
      resolve({ outcome: status === null ? outcome : 'response', status, ms: status === null ? performance.now() - started : statusMs, body: body.slice(0, 4096) });
    };
    const timer = setTimeout(() => finish('hang'), timeoutMs);
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      const text = received.toString('latin1');
      if (status === null) {
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
        if (m) {
          status = Number(m[1]);
          statusMs = performance.now() - started;
        }
      }
      const head = text.indexOf('\r\n\r\n');
      if (status === null || head < 0) return;
      // Complete once the declared body is in (or at the head for streams): no need to wait for a close.
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, head));
      if (/\r\ncontent-type: *text\/event-stream/i.test(text.slice(0, head))) finish('response');
      else if (length && received.length - head - 4 >= Number(length[1])) finish('response');
      else if (/\r\ntransfer-encoding: *chunked/i.test(text.slice(0, head)) && text.endsWith('0\r\n\r\n')) finish('response');
    });
    socket.on('close', () => finish('closed'));
    socket.on('error', () => finish('closed'));
    const queue = [...parts];
    const writeNext = () => {
      if (settled || socket.destroyed) return;
      const next = queue.shift() ?? options.endless;
      if (next === undefined) return;
      const more = socket.write(next);
      const again = () => (options.gapMs ? (pump = setTimeout(writeNext, options.gapMs)) : writeNext());
      if (more) again();
      else socket.once('drain', again);
    };
    socket.once('connect', writeNext);
  });
}

/** A request as bytes: `head` lines joined with CRLF, then the body. */
export function rawRequest(requestLine: string, headers: ReadonlyArray<string>, body: Buffer | string = ''): Buffer {
  return Buffer.concat([Buffer.from(`${[requestLine, ...headers].join('\r\n')}\r\n\r\n`, 'latin1'), typeof body === 'string' ? Buffer.from(body, 'utf8') : body]);
}
