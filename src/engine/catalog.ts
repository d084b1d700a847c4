/**
 * What front ends (Discord, Slack, the playground, the CLI) read of the engine: the installed
 * models and sampler plugins, to offer choices, labels, step limits and options. The Engine is one.
 * Nothing here generates or validates a request: front ends submit to the service, which validates.
 */
import type { SamplerPlugin } from '../core/sampler.ts';
import type { InstalledModel } from '../model/registry.ts';

export interface Catalog {
  readonly models: CatalogModels;
  readonly samplers: {
    list(): readonly SamplerPlugin[];
    find(name: string): SamplerPlugin | undefined;
  };
  /** The installed model of this name; throws ValidationError('model') naming the installed ones. */
  model(name: string): InstalledModel;
  /** The sampler plugin of this name; throws ValidationError('sampler') naming the available ones. */
  sampler(name: string): SamplerPlugin;
}

export interface CatalogModels {
  list(): readonly InstalledModel[];
  find(name: string): InstalledModel | undefined;
  /** The model used when a request names none (a manifest's `"default": true`, else the first). */
  defaultModel(): InstalledModel | undefined;
}
