/**
 * Postgres LISTEN/NOTIFY on one channel, the database side of the cross-process event bus
 * (src/jobs/bus.ts). NOTIFY goes through Prisma like all other SQL; LISTEN does not.
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '../ops/logger.ts';
import type { Prisma } from './client.ts';

/**
 * Sends `payloads` on `channel` in one round trip, in order. `$executeRaw`, not `$queryRaw`:
 * pg_notify returns void, a column type Prisma's driver adapter cannot read back.
 */
export async function notify(prisma: Prisma, channel: string, payloads: readonly string[]): Promise<void> {
  if (payloads.length === 0) return;
  await prisma.$executeRaw`SELECT pg_notify(${channel}, m) FROM unnest(${[...payloads]}::text[]) WITH ORDINALITY AS t(m, n) ORDER BY n`;
}

/** Receives `channel`'s notifications on a dedicated connection that reconnects with backoff. */
export class ListenConnection {
  private readonly emitter = new EventEmitter();
  // LISTEN needs one session held for the process's life; Prisma only lends pooled connections per query.
  private client: pg.Client | null = null;
  private closed = false;
  private reconnectDelayMs = 250;
  private everConnected = false;

  private constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly log: Logger,
  ) {
    this.emitter.setMaxListeners(0);
  }

  /** Resolves once listening (retrying while the database is unreachable). */
  static async start(url: string, channel: string, log: Logger): Promise<ListenConnection> {
    const listener = new ListenConnection(url, channel, log);
    await listener.connectUntilListening();
    return listener;
  }

  /** Each notification's payload, as sent. */
  onPayload(listener: (payload: string) => void): () => void {
    this.emitter.on('payload', listener);
    return () => this.emitter.off('payload', listener);
  }

  /** Called after the connection was lost and re-established: notifications may have been missed. */
  onReconnect(listener: () => void): () => void {
    this.emitter.on('reconnect', listener);
    return () => this.emitter.off('reconnect', listener);
  }

  private async connectUntilListening(): Promise<void> {
    while (!this.closed) {
      try {
        await this.connect();
        return;
      } catch (err) {
        this.log.warn({ error: err instanceof Error ? err.message : String(err) }, 'event bus: cannot listen yet, retrying');
        await new Promise((r) => setTimeout(r, this.reconnectDelayMs));
        this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, 5000);
      }
    }
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'ddpm-bot-events', keepAlive: true });
    client.on('error', (err) => {
      this.log.warn({ error: err.message }, 'event bus: listening connection failed');
      this.handleLost(client);
    });
    client.on('end', () => this.handleLost(client));
    client.on('notification', (n) => {
      if (n.channel === this.channel && n.payload) this.emitter.emit('payload', n.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.channel)}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    this.reconnectDelayMs = 250;
    if (this.everConnected) {
      this.log.info('event bus: listening again');
      this.emitter.emit('reconnect');
    }
    this.everConnected = true;
  }

  private handleLost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    if (!this.closed) void this.connectUntilListening();
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    this.emitter.removeAllListeners();
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }
}
