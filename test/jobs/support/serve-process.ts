/**
 * `ddpm-bot serve` as a child process, the way an operator starts it (`npm start`), for tests that
 * kill and restart the whole service. bin/ddpm-bot.js loads tsx in-process, so a signal hits the
 * service itself, not a wrapper.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../../src/db/migrate.ts';

export interface ServeProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far (JSON log lines). */
  output(): string;
  /** The first log line with this message, as JSON; waits for it, rejecting if the process exits first. */
  logLine(msg: string, timeoutMs: number): Promise<Record<string, unknown>>;
  /** Sends `signal` and resolves once the process has exited. */
  stop(signal: NodeJS.Signals): Promise<void>;
}

/** Starts the service with the embedded database in `dataDir`, the shipped models, and `env` on top. */
export function startServe(dataDir: string, env: Record<string, string>): ServeProcess {
  const child = spawn(process.execPath, ['bin/ddpm-bot.js', 'serve'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: '', DATA_DIR: dataDir, ROLE: 'all', PORT: '0', MODELS_DIR: '', LOG_LEVEL: 'info', WORKER_POLL_MS: '100', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  const find = (msg: string): Record<string, unknown> | null => {
    for (const line of out.split('\n')) {
      if (!line.includes(`"msg":${JSON.stringify(msg)}`)) continue;
      return JSON.parse(line) as Record<string, unknown>;
    }
    return null;
  };
  return {
    child,
    output: () => out,
    async logLine(msg, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = find(msg);
        if (line) return line;
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the service exited before logging "${msg}":\n${out}`);
        if (Date.now() > deadline) throw new Error(`no "${msg}" within ${timeoutMs} ms:\n${out}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** The PNG `ddpm-bot generate` writes for these parameters. */
export async function cliPng(args: readonly string[]): Promise<Buffer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ddpm-cli-'));
  try {
    const out = path.join(dir, 'x.png');
    await promisify(execFile)(process.execPath, ['bin/ddpm-bot.js', 'generate', ...args, '--out', out], { cwd: PROJECT_ROOT });
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
