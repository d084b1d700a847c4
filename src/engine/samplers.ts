/**
 * Sampler plugins are discovered, not listed: every `plugins/<name>/index.ts` that default-exports a
 * SamplerPlugin is available under `<name>`. Adding a sampler is dropping a folder in.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SamplerPlugin } from '../core/sampler.ts';
import { OptionDeclarationError, optionSpecs } from './options.ts';

/** A plugin folder that cannot be used (it does not load, or its export breaks the contract). */
export class PluginError extends Error {
  override readonly name = 'PluginError';
}

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
      plugins.push(asPlugin((await importPlugin(file)).default, entry.name, file));
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

async function importPlugin(file: string): Promise<{ default?: unknown }> {
  try {
    return (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    // Outside this repository no package.json says "type": "module", so Node loads index.ts as CommonJS.
    const hint = code === 'ERR_REQUIRE_CYCLE_MODULE' || code === 'ERR_REQUIRE_ESM' ? ' (a plugins folder outside this repository needs a package.json with {"type": "module"})' : '';
    throw new PluginError(`${file}: could not load the plugin: ${err instanceof Error ? err.message : String(err)}${hint}`, { cause: err });
  }
}

function asPlugin(value: unknown, folder: string, file: string): SamplerPlugin {
  const plugin = value as Partial<SamplerPlugin> | undefined;
  const problems: string[] = [];
  if (!plugin || typeof plugin !== 'object') throw new PluginError(`${file}: must default-export a SamplerPlugin`);
  if (plugin.name !== folder) problems.push(`name "${String(plugin.name)}" must equal its folder "${folder}"`);
  if (typeof plugin.description !== 'string') problems.push('description must be a string');
  if (typeof plugin.options?.safeParse !== 'function') problems.push('options must be a zod schema');
  if (typeof plugin.stepLimits !== 'function') problems.push('stepLimits must be a function');
  if (typeof plugin.create !== 'function') problems.push('create must be a function');
  if (problems.length > 0) throw new PluginError(`${file}: ${problems.join('; ')}`);
  try {
    // Front ends build their inputs from these descriptions: a declaration they cannot offer fails here, at start-up.
    optionSpecs(plugin as SamplerPlugin);
  } catch (err) {
    if (err instanceof OptionDeclarationError) throw new PluginError(`${file}: ${err.message}`);
    throw err;
  }
  return plugin as SamplerPlugin;
}
