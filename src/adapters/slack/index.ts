/**
 * The Slack adapter on @slack/bolt v4. HTTP mode mounts Bolt's request listener at POST /slack/events
 * on the service's one HTTP server (or, standalone, listens on PORT itself); Socket Mode connects with
 * SLACK_APP_TOKEN. Listeners live one per file and only translate Slack gestures into
 * GenerationService calls; delivery.ts renders the request events back.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger as BoltLogger } from '@slack/bolt';
import { App, HTTPReceiver, LogLevel, SocketModeReceiver } from '@slack/bolt';
import { registerAnimationAction } from './actions/animation.ts';
import { registerInterpolateWithAction } from './actions/interpolate-with.ts';
import { registerRerollAction } from './actions/reroll.ts';
import { registerVaryAction } from './actions/vary.ts';
import { registerCompareCommand } from './commands/compare.ts';
import { registerGenerateCommand } from './commands/generate.ts';
import { registerInterpolateCommand } from './commands/interpolate.ts';
import { registerInvertCommand } from './commands/invert.ts';
import { registerNoiseDemoCommand } from './commands/noise-demo.ts';
import { registerAppMention } from './events/app-mention.ts';
import type { SlackDeps } from './context.ts';
import { RetryGuard } from './context.ts';
import type { FrontEndContext } from '../context.ts';
import type { SweepTuning } from '../../delivery/engine.ts';
import { DEFAULT_DELIVERY_TUNING } from '../../delivery/engine.ts';
import { ComparisonRunner } from '../../jobs/comparisons.ts';
import { comparisonFrontOf } from './comparison.ts';
import { slackDelivery } from './delivery.ts';
import { envelopeRefusal, processEventError } from './envelope.ts';
import type { SlackEnv } from './env.ts';
import { parseSlackEnv } from './env.ts';
import { registerGenerateShortcut } from './shortcuts/generate-from-message.ts';
import { registerGenerateModal } from './views/generate-modal.ts';
import type { Logger } from '../../ops/logger.ts';

export { slackConfigured } from './env.ts';
export const SLACK_EVENTS_PATH = '/slack/events';
/** Largest request body handed to Bolt (Slack's own payloads are a few KB; view submissions at most ~100 KB). */
export const MAX_BODY_BYTES = 1024 * 1024;

export type NodeRequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The shared HTTP server (src/server/http.ts HttpServer), as far as Slack needs it: every request under
 * the prefix reaches the listener with its raw body read (bounded) into `req.rawBody`, which Bolt
 * verifies the signature over. Slack authenticates itself, so the mount skips the Host allow-list.
 */
export interface SlackHttpHost {
  mount(prefix: string, listener: NodeRequestListener, options: { readonly maxBodyBytes: number; readonly selfAuthenticated: boolean }): void;
}

export interface StartSlackAdapterOptions extends FrontEndContext {
  /** Raw environment (validated here) or already parsed settings. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Mount on this server; without it, HTTP mode listens on PORT by itself. */
  readonly http?: SlackHttpHost;
  /** Final replies: the owner's head start and the sweep for lost notifications (tests shorten them). */
  readonly delivery?: Partial<SweepTuning>;
}

export interface SlackAdapter {
  readonly mode: 'http' | 'socket';
  /** The HTTP port when the adapter runs its own server (standalone HTTP mode). */
  readonly port: number | null;
  stop(): Promise<void>;
}

function boltLogger(logger: Logger): BoltLogger {
  let level: LogLevel = LogLevel.INFO;
  const rank: Record<string, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  const enabled = (l: LogLevel) => (rank[l] ?? 1) >= (rank[level] ?? 1);
  const text = (msg: unknown[]) => msg.map((m) => (m instanceof Error ? m.message : typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  return {
    debug: (...msg) => enabled(LogLevel.DEBUG) && logger.debug({ component: 'bolt' }, text(msg)),
    info: (...msg) => enabled(LogLevel.INFO) && logger.info({ component: 'bolt' }, text(msg)),
    warn: (...msg) => enabled(LogLevel.WARN) && logger.warn({ component: 'bolt' }, text(msg)),
    error: (...msg) => logger.error({ component: 'bolt' }, text(msg)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

export async function startSlackAdapter(options: StartSlackAdapterOptions): Promise<SlackAdapter> {
  const env: SlackEnv = parseSlackEnv(options.env);
  const { service, catalog, logger } = options;
  const log = boltLogger(logger);
  const clientOptions = {
    ...(env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL.endsWith('/') ? env.SLACK_API_URL : `${env.SLACK_API_URL}/` } : {}),
    // The WebClient's default retry policy retries for ~30 minutes; a chat reply that late is useless.
    retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2_000 },
    timeout: 15_000,
  };
  const socket = env.SLACK_APP_TOKEN !== undefined;
  const receiver = socket
    ? new SocketModeReceiver({ appToken: env.SLACK_APP_TOKEN!, logger: log, installerOptions: { clientOptions } })
    : new HTTPReceiver({
        signingSecret: env.SLACK_SIGNING_SECRET!,
        endpoints: SLACK_EVENTS_PATH,
        // Acknowledge at ack(): Slack wants an answer within 3 s, the work continues after it.
        processBeforeResponse: false,
        processEventErrorHandler: processEventError,
        logger: log,
      });
  const app = new App({
    token: env.SLACK_BOT_TOKEN,
    receiver,
    logger: log,
    clientOptions,
    // init() below awaits auth.test, so a bad token or unreachable API fails start() instead of an unhandled rejection.
    deferInitialization: true,
  });
  try {
    await app.init();
  } catch (error) {
    throw new Error(`Slack auth.test failed (check SLACK_BOT_TOKEN / SLACK_API_URL): ${error instanceof Error ? error.message : String(error)}`);
  }

  const delivery = slackDelivery(app.client, service, logger, {
    ...DEFAULT_DELIVERY_TUNING,
    ...options.delivery,
    progressIntervalMs: env.SLACK_PROGRESS_INTERVAL_MS,
    updatesPerMinute: env.SLACK_PROGRESS_UPDATES_PER_MINUTE,
  });
  // The runner makes a stored comparison's front from the deps it is part of.
  const comparisons = new ComparisonRunner(service, 'slack', (target) => comparisonFrontOf(deps, app.client, target), logger);
  const deps: SlackDeps = { service, catalog, logger, env, delivery, guard: new RetryGuard(), comparisons };
  registerGenerateShortcut(app, deps);
  registerGenerateModal(app, deps);
  registerGenerateCommand(app, deps);
  registerNoiseDemoCommand(app, deps);
  registerRerollAction(app, deps);
  registerAnimationAction(app, deps);
  registerVaryAction(app, deps);
  registerInterpolateWithAction(app, deps);
  registerInterpolateCommand(app, deps);
  registerInvertCommand(app, deps);
  registerCompareCommand(app, deps);
  registerAppMention(app, deps);
  app.error(async (error) => {
    logger.error({ error: error.message, code: error.code }, 'slack: listener error');
  });

  let stopped = false;
  let ownServer: Server | null = null;
  try {
    ownServer = await listen();
    await delivery.start();
    await comparisons.start();
  } catch (error) {
    stopped = true;
    await comparisons.stop();
    await delivery.stop();
    if (socket || ownServer) await app.stop().catch(() => undefined);
    throw error;
  }
  const address = ownServer?.address();
  logger.info({ mode: socket ? 'socket' : 'http', mounted: Boolean(options.http) }, 'slack adapter started');

  return {
    mode: socket ? 'socket' : 'http',
    port: address && typeof address === 'object' ? address.port : null,
    async stop() {
      if (stopped) return;
      stopped = true;
      await comparisons.stop();
      await delivery.stop();
      if (socket || ownServer) await app.stop();
    },
  };

  /** Socket Mode connection, a mount on the shared server, or (standalone) Bolt's own server on PORT. */
  async function listen(): Promise<Server | null> {
    if (socket) {
      await app.start();
    } else if (options.http) {
      const httpReceiver = receiver as HTTPReceiver;
      options.http.mount(SLACK_EVENTS_PATH, (req, res) => {
        // The shared server cannot unmount; after stop() Slack gets a 503 and retries elsewhere or later.
        if (stopped) {
          res.writeHead(503).end();
          return;
        }
        const refusal = envelopeRefusal(req, (req as IncomingMessage & { rawBody: Buffer }).rawBody, env.SLACK_SIGNING_SECRET!);
        if (refusal !== null) {
          res.writeHead(refusal).end();
          return;
        }
        try {
          // Bolt answers POST /slack/events (verifying the signature first) and throws for anything else.
          httpReceiver.requestListener(req, res);
        } catch {
          if (!res.headersSent) res.writeHead(404).end();
        }
      }, { maxBodyBytes: MAX_BODY_BYTES, selfAuthenticated: true });
    } else {
      return (await app.start(env.PORT)) as Server;
    }
    return null;
  }
}

/**
 * The Slack adapter as main.ts starts it (ROLE all|bot): on the shared server, with the service and the
 * process logger from the adapter context, and the real Engine for model and sampler choices.
 */
export function slackAdapterFactory(
  env: Readonly<Record<string, string | undefined>> = process.env,
  delivery: Partial<SweepTuning> = {},
): (ctx: FrontEndContext & { readonly http: SlackHttpHost }) => Promise<SlackAdapter> {
  return (ctx) => startSlackAdapter({ service: ctx.service, catalog: ctx.catalog, logger: ctx.logger, env, http: ctx.http, delivery });
}
