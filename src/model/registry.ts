/** Installed models: every folder under the models directory that holds a model.json. */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ModelManifest } from './manifest.ts';
import { readManifest } from './manifest.ts';
import type { SessionOptions } from './session.ts';
import { NoiseModel } from './session.ts';

export interface InstalledModel {
  readonly name: string;
  readonly dir: string;
  readonly manifest: ModelManifest;
}

export const DEFAULT_MODELS_DIR = path.resolve(import.meta.dirname, '../../models');

/** Folders of `modelsDir` with a model.json, sorted by name; a broken manifest is an error, not a silent skip. */
export async function discoverModels(modelsDir: string): Promise<InstalledModel[]> {
  const entries = await readdir(modelsDir, { withFileTypes: true });
  const models: InstalledModel[] = [];
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = path.join(modelsDir, entry.name);
    if (!(await isFile(path.join(dir, 'model.json')))) continue;
    const manifest = await readManifest(dir);
    models.push({ name: manifest.name, dir, manifest });
  }
  const defaults = models.filter((m) => m.manifest.default);
  if (defaults.length > 1) {
    throw new Error(`${modelsDir}: only one model may set "default": true (found ${defaults.map((m) => m.name).join(', ')})`);
  }
  return models;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * Models by name with lazily created ONNX sessions (one per model per process). A name that is
 * a path to a folder with model.json also works, so the CLI can run a model that is not installed.
 */
export class ModelRegistry {
  private readonly sessions = new Map<string, Promise<NoiseModel>>();
  private readonly models: InstalledModel[];

  constructor(
    models: readonly InstalledModel[],
    private readonly sessionOptions: SessionOptions = {},
  ) {
    this.models = [...models];
  }

  static async open(modelsDir: string, sessionOptions: SessionOptions = {}): Promise<ModelRegistry> {
    return new ModelRegistry(await discoverModels(modelsDir), sessionOptions);
  }

  list(): readonly InstalledModel[] {
    return this.models;
  }

  /** The model to use when a request names none: the manifest marked `"default": true`, else the first by name. */
  defaultModel(): InstalledModel | undefined {
    return this.models.find((m) => m.manifest.default) ?? this.models[0];
  }

  find(name: string): InstalledModel | undefined {
    return this.models.find((m) => m.name === name);
  }

  /**
   * Adds a model folder given by path (CLI `--model ./dir`); returns its entry. The folder was named
   * on purpose, so it takes the place of an installed model of the same name (a retrained copy, say).
   */
  async addFolder(dir: string): Promise<InstalledModel> {
    const manifest = await readManifest(dir);
    const existing = this.find(manifest.name);
    if (existing && path.resolve(existing.dir) === path.resolve(dir)) return existing;
    const model = { name: manifest.name, dir: path.resolve(dir), manifest };
    if (existing) {
      this.models.splice(this.models.indexOf(existing), 1, model);
      const session = this.sessions.get(existing.name);
      this.sessions.delete(existing.name);
      await session?.then((s) => s.close(), () => undefined);
    } else {
      this.models.push(model);
    }
    return model;
  }

  session(name: string): Promise<NoiseModel> {
    let session = this.sessions.get(name);
    if (!session) {
      const model = this.find(name);
      if (!model) return Promise.reject(new Error(`unknown model "${name}"`));
      session = NoiseModel.load(model.dir, model.manifest, this.sessionOptions);
      // A failed load must not be cached forever: the next request retries.
      session.catch(() => this.sessions.delete(name));
      this.sessions.set(name, session);
    }
    return session;
  }

  async close(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(sessions.map(async (s) => (await s).close()));
  }
}
