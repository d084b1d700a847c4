/**
 * Structured logs (pino) on stdout with a request id on every line that belongs to an HTTP request:
 * JSON lines for machines, readable lines (pino-pretty) when a person watches a terminal. The id
 * comes from the caller's `X-Request-Id` when it is sane (so a proxy's id carries through) and is
 * echoed back in the response header.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import pino from 'pino';
import type { DestinationStream, Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat, LogLevel } from './config.ts';

/**
 * The one logger type the code depends on: pino's four levels, fields first (or a message alone).
 * The process logger from createLogger is one; tests pass recorders. Only this module and the
 * process's root (src/main.ts, src/ops) hold pino's own type, for `child` (request ids) and `fatal`.
 */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

export type { PinoLogger };

export interface LoggerOptions {
  readonly level?: LogLevel;
  /** Added to every line, e.g. { role: 'worker' }. */
  readonly base?: Record<string, string | number>;
  /** Defaults to stdout; tests pass a stream to read the lines back (always JSON). */
  readonly destination?: DestinationStream;
  /** Stdout only: `auto` (default) is readable on a terminal and JSON when piped or captured. */
  readonly format?: LogFormat;
}

/** The request being handled, if any: loggers from createLogger add its `reqId` to every line. */
export const requestContext = new AsyncLocalStorage<{ readonly reqId: string }>();

/** The process logger. Secrets never reach it: adapters log ids, not tokens or headers. */
export function createLogger(options: LoggerOptions = {}): PinoLogger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'ddpm-bot', pid: process.pid, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Lines written while handling a request carry its id (child loggers with their own reqId win).
      mixin: (_obj, _level, logger) => {
        const ctx = requestContext.getStore();
        return ctx && logger.bindings()['reqId'] === undefined ? { reqId: ctx.reqId } : {};
      },
      redact: { paths: ['token', '*.token', 'authorization', '*.authorization', 'headers.authorization', 'headers.cookie'], censor: '[redacted]' },
    },
    options.destination ?? stdout(options.format ?? 'auto'),
  );
}

/** A log shipper or journald wants JSON; a person at a terminal wants one readable line per event. */
function stdout(format: LogFormat): DestinationStream {
  const readable = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  if (!readable) return pino.destination({ dest: 1, sync: false });
  // pid and service are the same on every line of one process; the time of day is enough on a terminal.
  return pretty({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', singleLine: true });
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Result images (`/api/requests/:id/images/…`) and the playground's static files. */
const ROUTINE_GET = /^\/api\/requests\/[^/]+\/images\/|^\/playground\/[^/]+$/;

/** The caller's X-Request-Id if it is 1..128 safe characters, else a fresh UUID. */
export function requestIdFor(req: IncomingMessage): string {
  const header = req.headers['x-request-id'];
  const given = Array.isArray(header) ? header[0] : header;
  return given && REQUEST_ID.test(given) ? given : randomUUID();
}

export interface RequestLog {
  readonly id: string;
  /** Child logger carrying `reqId`; use it for everything logged while handling the request. */
  readonly log: Logger;
}

/**
 * Starts logging one HTTP request: assigns its id, sets the `X-Request-Id` response header, and
 * logs one line when the response finishes (method, path without query, status, ms). Health and
 * metrics scrapes, image fetches and the page's static files log at debug: a page showing a gallery
 * fetches dozens of images, which would drown the requests that change something.
 */
export function logRequest(logger: PinoLogger, req: IncomingMessage, res: ServerResponse): RequestLog {
  const id = requestIdFor(req);
  const log = logger.child({ reqId: id });
  if (!res.headersSent) res.setHeader('X-Request-Id', id);
  const started = performance.now();
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const quiet = path === '/healthz' || path === '/metrics' || (req.method === 'GET' && ROUTINE_GET.test(path));
  let done = false;
  const finish = (aborted: boolean) => {
    if (done) return;
    done = true;
    const line = { method: req.method, path, status: res.statusCode, ms: Math.round((performance.now() - started) * 10) / 10, ...(aborted ? { aborted } : {}) };
    if (res.statusCode >= 500) log.error(line, 'request failed');
    else if (quiet) log.debug(line, 'request');
    else log.info(line, 'request');
  };
  res.once('finish', () => finish(false));
  res.once('close', () => finish(!res.writableFinished));
  return { id, log };
}
