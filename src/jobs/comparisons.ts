/**
 * A chat platform's comparisons (/compare), stored and leased (comparison-records.ts): a bot process runs
 * the comparisons it started, renews their leases while it lives, gives them back when it stops, and takes
 * over those nobody holds (their process died, or stopped), so that every comparison ends with an answer
 * in every row and each of its runs is submitted once, whichever process finishes it.
 */
import { randomUUID } from 'node:crypto';
import type { GenerationParams } from '../engine/types.ts';
import type { Logger } from '../ops/logger.ts';
import type { StoredComparison } from './comparison-records.ts';
import type { ComparisonFront } from './compare.ts';
import { runComparison } from './compare.ts';
import type { GenerationService } from './service.ts';
import type { Json, Platform, Requester } from './types.ts';

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class ComparisonRunner {
  /** This process, as the holder of its comparisons' leases. */
  private readonly owner = randomUUID();
  /** The comparisons this process runs, each until its run settles. */
  private readonly held = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private beating = false;

  constructor(
    private readonly service: GenerationService,
    private readonly platform: Platform,
    /** The platform's front for a stored table target; null when the target is not this platform's (or malformed). */
    private readonly frontOf: (target: Json) => ComparisonFront | null,
    private readonly logger: Logger,
  ) {}

  private get records() {
    return this.service.comparisons;
  }

  /**
   * Takes over the comparisons nobody holds, now and on every heartbeat. Call it once the platform's
   * deliveries have resumed: they follow the runs that were submitted before a restart.
   */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.records.heartbeatMs);
    this.timer.unref();
  }

  /**
   * Starts the comparison a chat gesture asked for, once whichever processes the platform delivers the
   * gesture to: stores it held by this process (false when `gesture` already started one), has
   * `openTable` make its table (null: it could not, and the comparison ends there), and runs it.
   */
  async begin(requester: Requester, runs: readonly GenerationParams[], gesture: string, openTable: () => Promise<Json | null>): Promise<boolean> {
    const stored = await this.records.create(this.owner, { platform: this.platform, requester, runs }, gesture);
    if (!stored) return false;
    let target: Json | null;
    try {
      target = await openTable();
    } catch (error) {
      await this.records.finish(stored.id, this.owner).catch(() => undefined);
      throw error;
    }
    if (target === null) {
      await this.records.finish(stored.id, this.owner);
      return true;
    }
    // Not held any more (the table took longer than a lease): whoever took it over found no table and dropped it.
    if (await this.records.setTarget(stored.id, this.owner, target)) this.run({ ...stored, target });
    return true;
  }

  private run(stored: StoredComparison): void {
    const front = this.frontOf(stored.target);
    const done = (async () => {
      if (!front) {
        // Nothing can show it; finishing it stops every process from taking it over again.
        this.logger.warn({ comparison: stored.id }, 'comparison with an unreadable table target dropped');
        await this.records.finish(stored.id, this.owner);
        return;
      }
      const { finished } = await runComparison({
        service: this.service,
        requester: stored.requester,
        runs: stored.runs,
        front,
        progress: stored.progress,
        record: (index, run) => this.records.recordRun(stored.id, this.owner, index, run),
        signal: this.stopping.signal,
      });
      if (finished) await this.records.finish(stored.id, this.owner);
    })()
      .catch((error: unknown) => this.logger.error({ comparison: stored.id, err: message(error) }, 'comparison stopped'))
      .finally(() => this.held.delete(stored.id));
    this.held.set(stored.id, done);
  }

  /** Renews what this process holds (a lease lost to another process stops that run at its next step), then takes over what nobody holds. */
  private async beat(): Promise<void> {
    if (this.beating || this.stopping.signal.aborted) return;
    this.beating = true;
    try {
      await this.records.renew([...this.held.keys()], this.owner);
      for (const stored of await this.records.claimUnheld(this.platform, this.owner)) {
        if (this.held.has(stored.id)) continue;
        this.logger.info({ comparison: stored.id, platform: this.platform }, 'comparison taken over');
        this.run(stored);
      }
    } catch (error) {
      this.logger.warn({ platform: this.platform, err: message(error) }, 'comparison heartbeat failed; retrying on the next beat');
    } finally {
      this.beating = false;
    }
  }

  /** Stops every comparison at its current step and gives their leases back, for the next process to finish. */
  async stop(): Promise<void> {
    this.stopping.abort();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const ids = [...this.held.keys()];
    await Promise.allSettled([...this.held.values()]);
    await this.records.release(ids, this.owner).catch((error: unknown) => this.logger.warn({ err: message(error) }, 'could not give comparisons back'));
  }
}
