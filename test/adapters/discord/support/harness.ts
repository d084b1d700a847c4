/**
 * One end-to-end world per test file: a throwaway Postgres database, the real job runtime (service
 * + worker) running the real Engine on the tiny fixture model, a fake Discord, and the real
 * discord.js client of the adapter logged into it. The bot can be stopped and started again
 * against the same service and fake, as a restart would.
 */
import pino from 'pino';
import { Engine } from '../../../../src/engine/index.ts';
import type { DiscordAdapter } from '../../../../src/adapters/discord/index.ts';
import { startDiscordAdapter } from '../../../../src/adapters/discord/index.ts';
import type { AdapterTuning } from '../../../../src/adapters/discord/types.ts';
import { loadDiscordEnv } from '../../../../src/adapters/discord/config.ts';
import { registerCommands } from '../../../../src/adapters/discord/register.ts';
import type { JobRuntime, JobRuntimeConfig } from '../../../../src/jobs/runtime.ts';
import { startJobRuntime } from '../../../../src/jobs/runtime.ts';
import type { FakeDiscordOptions, FakeInteraction, FakeMessage } from '../../../fakes/discord/server.ts';
import { FakeDiscord } from '../../../fakes/discord/server.ts';
import type { TestDatabase } from '../../../jobs/support/database.ts';
import { createTestDatabase } from '../../../jobs/support/database.ts';
import { testConfig } from '../../../jobs/support/runtime.ts';
import { JobGate, realEnginePort, realRender } from './engine-port.ts';
import type { Logger } from '../../../../src/ops/logger.ts';

export const logger = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });

export interface HarnessOptions {
  readonly label: string;
  readonly runtime?: Partial<JobRuntimeConfig>;
  readonly tuning?: Partial<AdapterTuning>;
  readonly fake?: FakeDiscordOptions;
  /** Where the engine finds its models (default test/fixtures: the unconditional `tiny`). */
  readonly modelsDir?: string;
  /** Model folders installed after those; no fixture sets "default", so the first model listed is the default. */
  readonly extraModels?: readonly string[];
}

/** A log line of the bot, kept so tests can wait for what the delivery engine did. */
interface LogLine {
  readonly obj: Record<string, unknown>;
  readonly msg: string | undefined;
}

export class Harness {
  bot: DiscordAdapter | null = null;
  readonly logs: LogLine[] = [];
  private readonly botLogger: Logger = {
    debug: (obj, msg) => this.keep(obj, msg, () => logger.debug(obj, msg)),
    info: (obj, msg) => this.keep(obj, msg, () => logger.info(obj, msg)),
    warn: (obj, msg) => this.keep(obj, msg, () => logger.warn(obj, msg)),
    error: (obj, msg) => this.keep(obj, msg, () => logger.error(obj, msg)),
  };

  private constructor(
    /** Closed: jobs wait before the engine runs (as if the worker were busy). */
    readonly gate: JobGate,
    readonly fake: FakeDiscord,
    readonly engine: Engine,
    readonly runtime: JobRuntime,
    private readonly database: TestDatabase,
    private readonly options: HarnessOptions,
  ) {}

  static async start(options: HarnessOptions): Promise<Harness> {
    const [fake, engine, database] = await Promise.all([
      FakeDiscord.start(options.fake),
      Engine.load({ modelsDir: options.modelsDir ?? 'test/fixtures', threads: 1 }),
      createTestDatabase(`discord_${options.label}`),
    ]);
    for (const dir of options.extraModels ?? []) await engine.models.addFolder(dir);
    const gate = new JobGate();
    const runtime = await startJobRuntime({
      config: testConfig({
        DATABASE_URL: database.url,
        LIMIT_PER_HOUR: 1000,
        LIMIT_CONCURRENT_PER_USER: 3,
        PROGRESS_MIN_INTERVAL_MS: 10,
        ...options.runtime,
      }),
      engine: realEnginePort(engine, gate),
      render: realRender,
      log: logger,
    });
    const harness = new Harness(gate, fake, engine, runtime, database, options);
    // Registered as `npm run discord:register` would, so the fake types each option as the bot declared it.
    await registerCommands(loadDiscordEnv({ ...harness.env, DISCORD_GUILD_ID: fake.guildId }), engine);
    await harness.startBot();
    return harness;
  }

  get env(): Record<string, string> {
    return {
      DISCORD_TOKEN: this.fake.botToken,
      DISCORD_APPLICATION_ID: this.fake.applicationId,
      DISCORD_API_BASE: this.fake.apiBase,
    };
  }

  async startBot(): Promise<void> {
    const identified = this.fake.identifyCount;
    this.bot = await startDiscordAdapter({
      service: this.runtime.service,
      catalog: this.engine,
      logger: this.botLogger,
      env: this.env,
      // Sweeps every 200 ms, so that a test can wait for one that would repeat a delivered reply.
      tuning: { previewIntervalMs: 50, delivery: { ownerHeadStartMs: 300, sweepEveryMs: 200, sweepMinAgeMs: 0 }, ...this.options.tuning },
    });
    await this.fake.waitFor(() => this.fake.identifyCount > identified, 10_000, 'identify');
    await this.fake.waitForReady();
  }

  async stopBot(): Promise<void> {
    await this.bot?.stop();
    this.bot = null;
  }

  async close(): Promise<void> {
    this.gate.open();
    await this.stopBot().catch(() => undefined);
    await this.runtime?.close().catch(() => undefined);
    await this.engine.close().catch(() => undefined);
    await this.fake.close().catch(() => undefined);
    await this.database.drop();
  }

  /**
   * Resolves once nothing could still send a second final reply for `requestId`: a sweep that
   * began after `since` has settled (it would pick the request up again if its claim were lost)
   * and, when the bot was running as the request finished, its platform-wide final event was
   * handled too (the safety net that would post it a second time).
   */
  async deliveriesSettled(requestId: string, since: number, options: { readonly platformEvent: boolean }): Promise<void> {
    const settled = (origin: string) => this.logs.some((l) => l.msg === 'final delivery settled' && l.obj['requestId'] === requestId && (l.obj['origins'] as string[]).includes(origin));
    const swept = () => this.logs.some((l) => l.msg === 'delivery sweep settled' && Number(l.obj['startedAt']) >= since);
    await this.fake.waitFor(() => swept() && (!options.platformEvent || settled('event')), 10_000, `deliveries of ${requestId} settled`);
  }

  private keep(obj: object | string, msg: string | undefined, forward: () => void): void {
    this.logs.push(typeof obj === 'string' ? { obj: {}, msg: obj } : { obj: obj as Record<string, unknown>, msg });
    forward();
  }

  /** Waits for the message the bot created in response to the interaction to satisfy `check`. */
  async original(interaction: FakeInteraction, check: (m: FakeMessage) => boolean, what: string, timeoutMs = 30_000): Promise<FakeMessage> {
    return this.fake.waitFor(() => (interaction.response && check(interaction.response) ? interaction.response : null), timeoutMs, what);
  }

  /** The finished result: @original carrying the final embed (title starts with ✨, 🌫️, 🎞️, ❌). */
  async result(interaction: FakeInteraction, timeoutMs = 30_000): Promise<FakeMessage> {
    return this.original(interaction, (m) => isFinal(m), `final reply to interaction ${interaction.id}`, timeoutMs);
  }

  /** The ephemeral error follow-up sent for an interaction. */
  async ephemeralError(interaction: FakeInteraction, timeoutMs = 15_000): Promise<string> {
    return this.fake.waitFor(
      () => {
        const direct = interaction.callbacks.find((c) => c.type === 4 && (Number(c.data?.['flags'] ?? 0) & 64) !== 0);
        if (direct) return String(direct.data?.['content'] ?? '');
        const followup = interaction.followups.find((f) => (f.flags & 64) !== 0);
        if (followup) return followup.content;
        if (interaction.response && (interaction.response.flags & 64) !== 0 && interaction.response.content) return interaction.response.content;
        return null;
      },
      timeoutMs,
      `ephemeral error for ${interaction.id}`,
    );
  }
}

export function embedTitle(message: FakeMessage): string {
  return String(message.embeds[0]?.['title'] ?? '');
}

export function isFinal(message: FakeMessage): boolean {
  return /^(✨|🌫️|🎞️|❌|✖️)/u.test(embedTitle(message));
}

export function embedField(message: FakeMessage, name: string): string | undefined {
  const fields = (message.embeds[0]?.['fields'] as { name: string; value: string }[] | undefined) ?? [];
  return fields.find((f) => f.name === name)?.value;
}

/** The request id shown in a result embed. */
export function requestIdOf(message: FakeMessage): string {
  const value = embedField(message, 'Request') ?? embedField(message, 'Replay request');
  if (!value) throw new Error(`no request id in ${JSON.stringify(message.embeds)}`);
  return value.replace(/`/g, '');
}

export function customIds(message: FakeMessage): string[] {
  return message.components.flatMap((row) => ((row['components'] as { custom_id?: string }[] | undefined) ?? []).map((c) => c.custom_id ?? ''));
}

export function selectOptions(message: FakeMessage): { value: string; label: string }[] {
  for (const row of message.components) {
    for (const component of (row['components'] as { type: number; options?: { value: string; label: string }[] }[]) ?? []) {
      if (component.type === 3) return component.options ?? [];
    }
  }
  return [];
}
