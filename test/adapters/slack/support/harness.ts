/**
 * One running service for a test file, composed exactly as main.ts does it (startService): a
 * throwaway Postgres database, the real job runtime and worker running the real Engine on the tiny
 * fixture model, the shared HTTP server on a free port, and the Slack adapter mounted on it, talking to
 * the fake Slack Web API.
 */
import pino from 'pino';
import type { SlackAdapter } from '../../../../src/adapters/slack/index.ts';
import { slackAdapterFactory } from '../../../../src/adapters/slack/index.ts';
import { loadConfig } from '../../../../src/config.ts';
import { Engine } from '../../../../src/engine/index.ts';
import type { GenerationService } from '../../../../src/jobs/service.ts';
import type { ServiceHandle } from '../../../../src/main.ts';
import { startService } from '../../../../src/main.ts';
import type { TestDatabase } from '../../../jobs/support/database.ts';
import { createTestDatabase } from '../../../jobs/support/database.ts';
import { FakeSlackApi } from '../../../fakes/slack/fake-slack-api.ts';
import type { SendOptions, SlackHttpResult } from '../../../fakes/slack/slack-requests.ts';
import { commandBody, payloadBody, sendToApp } from '../../../fakes/slack/slack-requests.ts';
import type { Logger } from '../../../../src/ops/logger.ts';

export const BOT_TOKEN = 'xoxb-test-token';
export const SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';

export interface LogLine {
  readonly level: string;
  readonly obj: object;
  readonly msg: string | undefined;
}

export function memoryLogger(lines: LogLine[]): Logger {
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj, msg });
    if (process.env['SLACK_TEST_LOG']) console.log(level, msg, JSON.stringify(obj));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The Slack adapter's environment in tests (the fake API, fast progress edits). */
export function slackTestEnv(fake: FakeSlackApi, extra: Record<string, string> = {}): Record<string, string> {
  return { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: fake.apiUrl, SLACK_PROGRESS_INTERVAL_MS: '20', SLACK_PROGRESS_UPDATES_PER_MINUTE: '6000', ...extra };
}

/** Sweeps every 200 ms, so that a test can wait for one that would repeat a delivered reply. */
export const TEST_DELIVERY = { ownerHeadStartMs: 300, sweepEveryMs: 200, sweepMinAgeMs: 0 };

/**
 * Resolves once nothing in the process that logged `lines` could still send a second final reply
 * for `requestId`: a sweep that began after `since` has settled (it would pick the request up again
 * if its claim were lost) and, when the process was running as the request finished, its
 * platform-wide final event was handled too (the safety net that would post it a second time).
 */
export async function deliveriesSettled(lines: readonly LogLine[], requestId: string, since: number, options: { readonly platformEvent: boolean }): Promise<void> {
  const fields = (l: LogLine) => l.obj as Record<string, unknown>;
  const event = () => lines.some((l) => l.msg === 'final delivery settled' && fields(l)['requestId'] === requestId && (fields(l)['origins'] as string[]).includes('event'));
  const swept = () => lines.some((l) => l.msg === 'delivery sweep settled' && Number(fields(l)['startedAt']) >= since);
  await until(() => swept() && (!options.platformEvent || event()), `the deliveries of ${requestId} to settle`);
}

/** Polls a condition on log lines: they are not calls to the fake, whose waitFor wakes only on those. */
export async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Harness {
  readonly fake: FakeSlackApi;
  readonly engine: Engine;
  readonly service: GenerationService;
  readonly handle: ServiceHandle;
  readonly adapter: SlackAdapter;
  readonly baseUrl: string;
  readonly eventsUrl: string;
  readonly logs: LogLine[];
  send(rawBody: string, options?: SendOptions): Promise<SlackHttpResult>;
  command(command: string, text: string, o?: { user?: string; channel?: string; triggerId?: string } & SendOptions): Promise<SlackHttpResult & { responseId: string }>;
  interact(payload: object, options?: SendOptions): Promise<SlackHttpResult>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Names the throwaway database. */
  readonly label: string;
  /** Run in Socket Mode with this app-level token (the fake accepts it for apps.connections.open). */
  readonly appToken?: string;
  /** Where the engine finds its models (default test/fixtures: the unconditional `tiny`). */
  readonly modelsDir?: string;
  /** Model folders installed after those; no fixture sets "default", so the first model listed is the default. */
  readonly extraModels?: readonly string[];
  /** The Postgres server to create the throwaway database on (default: the shared one). */
  readonly adminUrl?: string;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const fake = new FakeSlackApi(BOT_TOKEN, options.appToken);
  await fake.start();
  const engine = await Engine.load({ modelsDir: options.modelsDir ?? 'test/fixtures', threads: 1 });
  let db: TestDatabase | null = null;
  try {
    for (const dir of options.extraModels ?? []) await engine.models.addFolder(dir);
    db = await createTestDatabase(options.label, options.adminUrl);
    const config = loadConfig({
      DATABASE_URL: db.url,
      PORT: '0',
      MIGRATE_ON_START: 'false',
      WORKER_POLL_MS: '100',
      PROGRESS_MIN_INTERVAL_MS: '10',
      PROGRESS_PREVIEWS: 'true',
      JOB_RETRY_LIMIT: '1',
      SHUTDOWN_GRACE_SECONDS: '2',
      LIMIT_CONCURRENT_PER_USER: '2',
    });
    const logs: LogLine[] = [];
    const logger = memoryLogger(logs);
    const factory = slackAdapterFactory(slackTestEnv(fake, options.appToken ? { SLACK_APP_TOKEN: options.appToken } : {}), TEST_DELIVERY);
    let adapter: SlackAdapter | null = null;
    const handle = await startService({
      config,
      log: pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }),
      engine,
      catalog: engine,
      adapters: [async (ctx) => (adapter = await factory({ ...ctx, logger }))],
    });
    if (!adapter) throw new Error('the Slack adapter did not start');
    const baseUrl = `http://127.0.0.1:${handle.port}`;
    const eventsUrl = `${baseUrl}/slack/events`;
    const send = (rawBody: string, o?: SendOptions) => sendToApp(eventsUrl, SIGNING_SECRET, rawBody, o);
    const testDb = db;
    return {
      fake,
      engine,
      service: handle.runtime.service,
      handle,
      adapter,
      baseUrl,
      eventsUrl,
      logs,
      send,
      async command(command, text, o = {}) {
        const responseId = `${command.slice(1)}-${Math.random().toString(36).slice(2, 10)}`;
        const body = commandBody({
          command,
          text,
          channel: o.channel ?? 'C0GENERAL',
          user: o.user ?? 'U0ALICE',
          responseUrl: fake.responseUrl(responseId),
          ...(o.triggerId ? { triggerId: o.triggerId } : {}),
        });
        return { ...(await send(body, o)), responseId };
      },
      interact: (payload, o) => send(payloadBody(payload), o),
      async close() {
        await handle.stop();
        await engine.close();
        await testDb.drop();
        await fake.stop();
      },
    };
  } catch (error) {
    await engine.close();
    await db?.drop();
    await fake.stop();
    throw error;
  }
}
