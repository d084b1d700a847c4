/** Runs the real `bin/ddpm-bot.js` in a child process, as a user would, and returns what it printed. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

export const root = path.resolve(import.meta.dirname, '../../..');
const bin = path.join(root, 'bin/ddpm-bot.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
