/**
 * Process composition by ROLE:
 *   all    (default) database + migrations, queue, a worker and the HTTP server with every adapter
 *   bot    adapters and the HTTP server: submits, watches and replies; never generates
 *   worker generation only (no HTTP): scale these out on any number of machines
 * SIGTERM/SIGINT stop gracefully: stop accepting HTTP, let running batches finish (or requeue them
 * after SHUTDOWN_GRACE_SECONDS), then close the queue and database.
 *
 * Adapters (Discord, Slack, playground) plug in through `adapters`: each gets the service and the
 * HTTP server (to `route` or `mount` on) and returns something to stop.
 */
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from './config.ts';
import { Engine } from './engine/index.ts';
import { registerWebApi } from './adapters/web/api.ts';
import { slackConfigured } from './adapters/slack/env.ts';
import type { EnginePort, RenderPort } from './jobs/engine-port.ts';
import { startJobRuntime, type JobRuntime } from './jobs/runtime.ts';
import { opsQueries } from './db/ops-queries.ts';
import { imagePng, batchPng, trajectoryGif } from './render/index.ts';
import { HttpServer, sendJson } from './server/http.ts';
import { createGuard, defaultAllowedHosts } from './server/guard.ts';
import { installLastResort } from './ops/last-resort.ts';
import { registerPlayground } from './adapters/web/playground.ts';
import type { FrontEndContext } from './adapters/context.ts';
import type { Catalog } from './engine/catalog.ts';
import { Metrics, createLogger, createOps, instrumentEngine, loadOpsConfig, registerOps, startOpsServer, type OpsConfig, type PinoLogger } from './ops/index.ts';

/** The shared front-end context plus what the process offers an adapter to plug into. */
export interface AdapterContext extends FrontEndContext {
  /** The shared server on PORT: `route` pages/endpoints or `mount` a request listener (Bolt). */
  readonly http: HttpServer;
  readonly config: Config;
}

export interface RunningAdapter {
  stop(): Promise<void>;
}

/** Starts one adapter (e.g. the Discord gateway); runs in ROLE=all and ROLE=bot only. */
export type AdapterFactory = (ctx: AdapterContext) => Promise<RunningAdapter | void>;

export interface ServiceHandle {
  readonly runtime: JobRuntime;
  readonly http: HttpServer | null;
  /** The bound HTTP port (useful with PORT=0), or null without HTTP. */
  readonly port: number | null;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly config: Config;
  /** The process's root logger: /healthz, /metrics and request ids need pino's child loggers. */
  readonly log: PinoLogger;
  readonly engine: EnginePort;
  /**
   * The models and samplers front ends list (the real Engine). Without it (a test's fake engine)
   * neither the playground nor any adapter starts.
   */
  readonly catalog?: Catalog;
  readonly render?: RenderPort;
  readonly adapters?: readonly AdapterFactory[];
  /** LOG_LEVEL, PLAYGROUND, METRICS, HOST, …: without it, all from the environment; with it, these over the defaults. */
  readonly ops?: Partial<OpsConfig>;
}

export const realRender: RenderPort = { imagePng, batchPng, trajectoryGif };

export async function startService(options: StartOptions): Promise<ServiceHandle> {
  const { config, log } = options;
  // Every batch the worker runs and every request this process accepts or finishes is counted for /metrics.
  const opsConfig: OpsConfig = options.ops ? { ...loadOpsConfig({}), ...options.ops } : loadOpsConfig();
  const metrics = new Metrics();
  const engine = instrumentEngine(options.engine, metrics);
  // The longest phase on a first start (embedded PGlite creating its files, then `prisma migrate deploy`
  // in a child process): said before it starts, so the wait is not silent.
  let phaseStart = performance.now();
  log.info({ database: config.DATABASE_URL ? 'postgres (DATABASE_URL)' : 'embedded PGlite', migrate: config.MIGRATE_ON_START }, 'starting database, migrations and job queue');
  const runtime = await startJobRuntime({ config, engine, render: options.render ?? realRender, log, counters: metrics });
  log.info({ seconds: secondsSince(phaseStart) }, 'database, migrations and job queue ready');
  phaseStart = performance.now();
  let http: HttpServer | null = null;
  let port: number | null = null;
  let opsServer: { readonly port: number; close(): Promise<void> } | null = null; // ROLE=worker with METRICS_PORT
  const adapters: RunningAdapter[] = [];
  const readings = opsQueries(runtime.db.prisma);
  try {
    if (config.ROLE !== 'worker') {
      const guard = createGuard({ allowedHosts: opsConfig.ALLOWED_HOSTS ?? defaultAllowedHosts(opsConfig.HOST), apiToken: opsConfig.API_TOKEN });
      http = new HttpServer({ log, guard, requestTimeoutMs: opsConfig.REQUEST_TIMEOUT_SECONDS * 1000 });
      // /healthz (database, queue, model sessions), /metrics, request ids, the page
      const sessions = config.ROLE === 'bot' ? undefined : options.engine;
      registerOps(http, createOps({ config: opsConfig, metrics, db: readings, engine: sessions }), log);
      const catalog = options.catalog;
      if (opsConfig.PLAYGROUND && catalog) registerPlayground(http, { catalog });
      http.route('GET', '/readyz', async (_req, res) => {
        try {
          await readings.ping();
          sendJson(res, 200, { ok: true });
        } catch {
          sendJson(res, 503, { ok: false, message: 'database unreachable' });
        }
      }, { auth: false });
      registerWebApi(http, runtime.service, { log, trustProxy: config.TRUST_PROXY });
      for (const factory of options.adapters ?? []) {
        if (!catalog) throw new Error('adapters need a catalog (StartOptions.catalog)');
        const started = await factory({ service: runtime.service, catalog, logger: log, http, config });
        if (started) adapters.push(started);
      }
      port = await http.listen(config.PORT, opsConfig.HOST);
      const url = `http://${hostForUrl(opsConfig.HOST)}:${port}`;
      log.info({ host: opsConfig.HOST, port, role: config.ROLE, url, reach: reachOf(opsConfig.HOST), auth: opsConfig.API_TOKEN ? 'API_TOKEN' : 'none', seconds: secondsSince(phaseStart) }, 'http server listening');
      // The one line a newcomer needs: where to go.
      const open = opsConfig.HOST === '0.0.0.0' || opsConfig.HOST === '::';
      if (opsConfig.PLAYGROUND && catalog) log.info(`playground: ${open ? `http://127.0.0.1:${port}` : url}`);
    } else if (opsConfig.METRICS_PORT !== undefined) {
      // A worker has no HTTP server: it serves /healthz and /metrics on METRICS_PORT when that is set.
      opsServer = await startOpsServer(opsConfig.METRICS_PORT, opsConfig.HOST, createOps({ config: opsConfig, metrics, db: readings, engine: options.engine }), log);
    }
  } catch (err) {
    await runtime.close();
    throw err;
  }
  let stopped = false;
  return {
    runtime,
    http,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await http?.close();
      await opsServer?.close();
      for (const a of adapters.reverse()) await a.stop().catch((err: unknown) => log.warn({ err }, 'adapter stop failed'));
      await runtime.close();
    },
  };
}

/** Says in the start-up line who can reach the server, so an open port is never a surprise. */
function reachOf(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'every interface (HOST): other machines can connect';
  if (isLoopback(host)) return 'loopback only; set HOST=0.0.0.0 to serve other machines';
  return `the address ${host} only`;
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost';
}

/** The hourly limit when the only users are on this machine (see localLimits). */
const LOCAL_PER_HOUR = 600;

/**
 * A playground served to this machine only, with no chat app in the process, has one user: whoever
 * runs it. The per-hour limit protects a shared service from its users; here it only stopped that one
 * person after 30 images, so it is raised unless LIMIT_PER_HOUR is set. Concurrency and the queue cap stay.
 */
export function localLimits(config: Config, ops: OpsConfig, chatAdapters: number, env: NodeJS.ProcessEnv): Config {
  if (!isLoopback(ops.HOST) || !ops.PLAYGROUND || chatAdapters > 0 || config.ROLE !== 'all' || env['LIMIT_PER_HOUR']) return config;
  return { ...config, LIMIT_PER_HOUR: LOCAL_PER_HOUR };
}

function secondsSince(start: number): number {
  return Math.round(performance.now() - start) / 1000;
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Chat adapters start when their tokens are set (Discord: DISCORD_TOKEN; Slack: SLACK_BOT_TOKEN +
 * SLACK_SIGNING_SECRET for HTTP on PORT, or SLACK_APP_TOKEN for Socket Mode); startService runs them in
 * ROLE=all and ROLE=bot only. They are imported only then: discord.js and Bolt take ~4 s to load on
 * a busy 2-core host, which a playground-only start should not pay.
 */
async function chatAdapters(): Promise<AdapterFactory[]> {
  const chat: AdapterFactory[] = [];
  if (process.env['DISCORD_TOKEN']) chat.push((await import('./adapters/discord/index.ts')).discordAdapterFactory(process.env));
  if (slackConfigured(process.env)) chat.push((await import('./adapters/slack/index.ts')).slackAdapterFactory(process.env));
  return chat;
}

/** The process entry point: env config, the engine, the service, and signal handling. */
export async function runService(adapters: readonly AdapterFactory[] = []): Promise<void> {
  const config = loadConfig();
  const ops = loadOpsConfig();
  const log = createLogger({ level: config.LOG_LEVEL, format: ops.LOG_FORMAT }); // request ids on every line; JSON unless a terminal watches
  // process.uptime() covers Node's start and the module imports (TypeScript through tsx, no build step).
  log.info({ role: config.ROLE, seconds: Math.round(process.uptime() * 1000) / 1000 }, 'starting');
  let phaseStart = performance.now();
  const engine = await Engine.load({
    ...(config.MODELS_DIR ? { modelsDir: config.MODELS_DIR } : {}),
    ...(config.PLUGINS_DIR ? { pluginsDir: config.PLUGINS_DIR } : {}),
    ...(config.DDPM_EXECUTION_PROVIDER ? { executionProvider: config.DDPM_EXECUTION_PROVIDER } : {}),
    ...(config.DDPM_THREADS ? { threads: config.DDPM_THREADS } : {}),
    logger: log,
  });
  log.info({ models: engine.models.list().map((m) => m.name), samplers: engine.samplers.list().map((p) => p.name), seconds: secondsSince(phaseStart) }, 'models and samplers found');
  phaseStart = performance.now();
  const chat = await chatAdapters();
  if (chat.length > 0) log.info({ seconds: secondsSince(phaseStart) }, 'chat adapters loaded');
  const limits = localLimits(config, ops, chat.length + adapters.length, process.env);
  if (limits !== config) log.info({ perHour: limits.LIMIT_PER_HOUR }, `loopback-only playground without chat apps: up to ${limits.LIMIT_PER_HOUR} requests per hour (LIMIT_PER_HOUR overrides)`);
  const handle = await startService({ config: limits, log, engine, catalog: engine, adapters: [...adapters, ...chat], ops });
  log.info({ seconds: Math.round(process.uptime() * 1000) / 1000 }, 'ready');
  let stopping = false;
  const shutdown = (signal: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // A stuck shutdown must not keep the process: leases expire and other workers take over.
    setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, (config.SHUTDOWN_GRACE_SECONDS + 20) * 1000).unref();
    void handle
      .stop()
      .then(() => engine.close())
      .then(
        () => process.exit(exitCode),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  installLastResort(log, shutdown);
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runService();
}
