/**
 * "Adding a sampler is dropping a folder in", end to end: a plugin folder the repository has never
 * seen, under PLUGINS_DIR, is listed by `ddpm-bot samplers` and generates through the CLI; broken
 * plugin folders stop the CLI with one line naming the file (exit 2, like other bad configuration).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/ddpm-bot.js');
let dir: string;

async function cli(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A plugins folder outside the repository, as the README describes it: ESM by its own package.json. */
async function plugin(pluginsDir: string, folder: string, source: string): Promise<void> {
  await mkdir(path.join(pluginsDir, folder), { recursive: true });
  await writeFile(path.join(pluginsDir, 'package.json'), '{ "type": "module" }\n');
  await writeFile(path.join(pluginsDir, folder, 'index.ts'), source);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ddpm-plugins-'));
});

describe('sampler plugin discovery', () => {
  it('lists a new plugin folder and generates with it exactly what the sampler it wraps generates', async () => {
    const plugins = path.join(dir, 'good');
    const ddim = JSON.stringify(path.join(root, 'plugins/ddim/index.ts'));
    await plugin(plugins, 'ddim-again', `import ddim from ${ddim};\nexport default { ...ddim, name: 'ddim-again', description: 'DDIM under a new name' };\n`);
    await mkdir(path.join(plugins, 'notes')); // no index.ts: not a plugin
    const listed = await cli({ PLUGINS_DIR: plugins }, 'samplers');
    expect(listed.code).toBe(0);
    // One line per sampler, then its declared options indented under it: a dropped-in folder's options are offered too.
    expect(listed.stdout.split('\n').filter((l) => /^\S/.test(l)).map((l) => l.split(/\s+/)[0])).toEqual(['ddim-again']);
    expect(listed.stdout).toMatch(/^\s+--option eta \(a number in 0\.\.1, default 0\): /m);

    const args = ['generate', '--models-dir', path.join(root, 'test/fixtures'), '--steps', '7', '--seed', '11'];
    const mine = path.join(dir, 'mine.png');
    const reference = path.join(dir, 'reference.png');
    expect((await cli({ PLUGINS_DIR: plugins }, ...args, '--sampler', 'ddim-again', '--out', mine)).code).toBe(0);
    expect((await cli({}, ...args, '--sampler', 'ddim', '--out', reference)).code).toBe(0);
    expect((await readFile(mine)).equals(await readFile(reference))).toBe(true);
  });

  it('refuses a plugin whose name is not its folder, naming the file', async () => {
    const plugins = path.join(dir, 'bad');
    const ddim = JSON.stringify(path.join(root, 'plugins/ddim/index.ts'));
    await plugin(plugins, 'misnamed', `import ddim from ${ddim};\nexport default ddim;\n`);
    const run = await cli({ PLUGINS_DIR: plugins }, 'samplers');
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`error: ${path.join(plugins, 'misnamed', 'index.ts')}: name "ddim" must equal its folder "misnamed"\n`);
  });

  it('says what a plugins folder outside the repository is missing when it has no package.json', async () => {
    const plugins = path.join(dir, 'cjs');
    await mkdir(path.join(plugins, 'loose'), { recursive: true });
    const ddim = JSON.stringify(path.join(root, 'plugins/ddim/index.ts'));
    await writeFile(path.join(plugins, 'loose', 'index.ts'), `import ddim from ${ddim};\nexport default { ...ddim, name: 'loose' };\n`);
    const run = await cli({ PLUGINS_DIR: plugins }, 'samplers');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: /);
    expect(run.stderr).toContain(`${path.join(plugins, 'loose', 'index.ts')}: could not load the plugin`);
    expect(run.stderr).toContain('needs a package.json with {"type": "module"}');
  });
});
