import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../src/db/migrate.ts';

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly id: string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  output(): string;
}

/** Starts test/jobs/support/worker-process.ts and resolves once it polls for work. */
export async function startWorkerProcess(id: string, env: Record<string, string>): Promise<WorkerProcess> {
  // `node --import tsx`, not the tsx CLI: the CLI runs the script in a grandchild, so SIGKILL would
  // hit only the wrapper and leave the real worker running.
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'test/jobs/support/worker-process.ts')], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env, WORKER_ID: id },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Kill it, or a worker that comes up late keeps claiming jobs for the rest of the run.
      child.kill('SIGKILL');
      reject(new Error(`worker ${id} did not start within 60 s:\n${out}`));
    }, 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker ${id} exited with ${code} before ready:\n${out}`));
    });
  });
  return { child, id, exited, output: () => out };
}

export async function stopWorkerProcess(w: WorkerProcess): Promise<number | null> {
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  return w.exited;
}
