/**
 * What every front end is given, whatever its platform: the service it turns gestures into, the
 * catalog it offers choices from, and the process logger. Discord's and Slack's contexts add their
 * platform's parts to it; src/main.ts hands it to each adapter it starts.
 */
import type { Catalog } from '../engine/catalog.ts';
import type { GenerationService } from '../jobs/service.ts';
import type { Logger } from '../ops/logger.ts';

export interface FrontEndContext {
  readonly service: GenerationService;
  readonly catalog: Catalog;
  readonly logger: Logger;
}
