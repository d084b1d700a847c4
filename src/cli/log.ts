/** The CLI's log lines: stderr, so that stdout carries only what a command prints. */
import type { Logger } from '../ops/logger.ts';

/** The engine's log lines on stderr: warnings and errors always, the rest with DDPM_VERBOSE set. */
export const stderrLogger: Logger = {
  debug: (obj, msg) => verbose(obj, msg),
  info: (obj, msg) => verbose(obj, msg),
  warn: (obj, msg) => logLine('warning: ', obj, msg),
  error: (obj, msg) => logLine('error: ', obj, msg),
};

function verbose(obj: object | string, msg: string | undefined): void {
  if (process.env['DDPM_VERBOSE']) logLine('', obj, msg);
}

function logLine(prefix: string, obj: object | string, msg: string | undefined): void {
  process.stderr.write(typeof obj === 'string' ? `${prefix}${obj}\n` : `${prefix}${msg ?? ''} ${JSON.stringify(obj)}\n`);
}
