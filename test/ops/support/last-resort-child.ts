/** A process with the last-resort handlers: loses a promise, keeps going, then throws uncaught. */
import pino from 'pino';
import { installLastResort } from '../../../src/ops/last-resort.ts';

const log = pino();
installLastResort(log, (reason, exitCode) => {
  log.info({ reason, exitCode }, 'graceful shutdown');
  setTimeout(() => process.exit(exitCode), 10);
});
void Promise.reject(new Error('a lost promise'));
setTimeout(() => {
  log.info('still serving');
  setTimeout(() => {
    throw new Error('boom');
  }, 10);
}, 100);
setTimeout(() => undefined, 10_000);
