/**
 * The process-level policy for errors nothing else caught: a lost promise is logged and the process
 * keeps running; an uncaught exception is logged as fatal and ends in a graceful shutdown, exit 1.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

describe('installLastResort', () => {
  it('logs an unhandled rejection and serves on; shuts down with exit 1 on an uncaught exception', async () => {
    const child = path.join(root, 'test/ops/support/last-resort-child.ts');
    const run = await promisify(execFile)(process.execPath, ['--import', 'tsx', child], { cwd: root }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: number; err?: { message: string }; reason?: string });
    expect(lines.map((l) => l.msg)).toEqual(['unhandled promise rejection; still serving', 'still serving', 'uncaught exception; shutting down', 'graceful shutdown']);
    expect(lines[0]).toMatchObject({ level: 50, err: { message: 'a lost promise' } });
    expect(lines[2]).toMatchObject({ level: 60, err: { message: 'boom' } });
    expect(lines[3]).toMatchObject({ reason: 'uncaughtException' });
    expect(run.code).toBe(1);
  });
});
