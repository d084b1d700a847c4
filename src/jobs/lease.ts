/**
 * A running batch's heartbeat: renews the leases of its rows every `intervalMs`, so a lease can be
 * short (a dead worker's jobs come back within one lease) and still never run out under a worker
 * that is alive, however long its batch takes.
 */
import type { Logger } from '../ops/logger.ts';
import type { Prisma } from '../db/client.ts';
import { renewLeases } from '../db/queue-store.ts';

export interface LeaseOptions {
  readonly leaseSeconds: number;
  readonly heartbeatMs: number;
}

export class Heartbeat {
  private readonly timer: NodeJS.Timeout;
  private beating = false;

  constructor(
    private readonly prisma: Prisma,
    private readonly workerId: string,
    private readonly ids: readonly string[],
    private readonly options: LeaseOptions,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.beat(), options.heartbeatMs);
  }

  private async beat(): Promise<void> {
    // A renewal still waiting on a slow database is not stacked with another.
    if (this.beating) return;
    this.beating = true;
    try {
      const renewed = new Set(await renewLeases(this.prisma, this.workerId, this.ids, this.options.leaseSeconds));
      const lost = this.ids.filter((id) => !renewed.has(id));
      // Finished rows have no lease; a lost running one now belongs to a later attempt, whose result wins.
      if (lost.length > 0) this.log.debug({ workerId: this.workerId, lost }, 'leases no longer held');
    } catch (err) {
      this.log.warn({ err, workerId: this.workerId }, 'lease renewal failed; retrying on the next beat');
    } finally {
      this.beating = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
