/**
 * The last line of defence, for errors that every request path and background loop failed to
 * catch. An unhandled rejection is one promise's failure and leaves no shared state half-changed:
 * it is logged and the service keeps serving. An uncaught exception may have stopped code in the
 * middle of anything: it is logged as fatal and the process shuts down gracefully (running batches
 * requeued) and exits 1, for the supervisor to restart it.
 */
import type { PinoLogger } from './logger.ts';

/** Installs both handlers; returns a function that removes them. */
export function installLastResort(log: PinoLogger, shutdown: (reason: string, exitCode: number) => void): () => void {
  const onRejection = (reason: unknown) => log.error({ err: reason }, 'unhandled promise rejection; still serving');
  const onException = (err: Error) => {
    log.fatal({ err }, 'uncaught exception; shutting down');
    shutdown('uncaughtException', 1);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
