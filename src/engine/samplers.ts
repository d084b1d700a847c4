/**
 * Sampler plugins are discovered, not listed: every `plugins/<name>/index.ts` that default-exports a
 * SamplerPlugin is available under `<name>`. Adding a sampler is dropping a folder in.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SamplerPlugin } from '../core/sampler.ts';

export const DEFAULT_PLUGINS_DIR = path.resolve(import.meta.dirname, '../../plugins');

export class SamplerRegistry {
  private constructor(private readonly plugins: readonly SamplerPlugin[]) {}

  static async discover(pluginsDir: string = DEFAULT_PLUGINS_DIR): Promise<SamplerRegistry> {
    const entries = await readdir(pluginsDir, { withFileTypes: true });
    const plugins: SamplerPlugin[] = [];
    for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
      const file = path.join(pluginsDir, entry.name, 'index.ts');
      // Folders without an index.ts (docs, shared fixtures) are not plugins.
      if (!existsSync(file)) continue;
      const module = (await import(pathToFileURL(file).href)) as { default?: unknown };
      plugins.push(asPlugin(module.default, entry.name, file));
    }
    return new SamplerRegistry(plugins);
  }

  list(): readonly SamplerPlugin[] {
    return this.plugins;
  }

  find(name: string): SamplerPlugin | undefined {
    return this.plugins.find((p) => p.name === name);
  }
}

function asPlugin(value: unknown, folder: string, file: string): SamplerPlugin {
  const plugin = value as Partial<SamplerPlugin> | undefined;
  const problems: string[] = [];
  if (!plugin || typeof plugin !== 'object') throw new Error(`${file}: must default-export a SamplerPlugin`);
  if (plugin.name !== folder) problems.push(`name "${String(plugin.name)}" must equal its folder "${folder}"`);
  if (typeof plugin.description !== 'string') problems.push('description must be a string');
  if (typeof plugin.options?.safeParse !== 'function') problems.push('options must be a zod schema');
  if (typeof plugin.stepLimits !== 'function') problems.push('stepLimits must be a function');
  if (typeof plugin.create !== 'function') problems.push('create must be a function');
  if (problems.length > 0) throw new Error(`${file}: ${problems.join('; ')}`);
  return plugin as SamplerPlugin;
}
