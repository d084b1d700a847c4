/**
 * A fake Discord on 127.0.0.1: just enough of the REST API and the gateway for the real discord.js
 * Client to log in, receive interactions and answer them. Tests drive it as users would (slash
 * commands, button clicks, select menus, attachments) and read back what the bot did, with the
 * rules that make real bots fail enforced: the 3-second initial response window, 15-minute
 * interaction tokens, one initial response per interaction.
 *
 * Point discord.js at it with `rest: { api: fake.apiBase }` (the adapter's DISCORD_API_BASE).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';

const API_PREFIX = '/api/v10';
const EPHEMERAL = 1 << 6;
export const MANAGE_MESSAGES = 1n << 13n;
const EVERYONE_PERMISSIONS = (1n << 10n) | (1n << 11n) | (1n << 15n) | (1n << 16n) | (1n << 31n); // view, send, attach, history, use commands

export interface FakeUser {
  readonly id: string;
  readonly username: string;
  /** Channel permissions of this member (bitfield). */
  readonly permissions: bigint;
}

export interface FakeAttachmentFile {
  readonly filename: string;
  readonly contentType: string;
  readonly bytes: Buffer;
}

/** A message as the fake stores it: what the bot sent, with files decoded. */
export interface FakeMessage {
  readonly id: string;
  readonly channelId: string;
  /** Token of the interaction whose response this is (null for plain channel messages). */
  readonly interactionToken: string | null;
  content: string;
  embeds: Record<string, unknown>[];
  components: Record<string, unknown>[];
  files: FakeAttachmentFile[];
  flags: number;
  allowedMentions: Record<string, unknown> | null;
  deleted: boolean;
  /** Every state this message had, oldest first (the first is its creation). */
  readonly history: { content: string; embeds: Record<string, unknown>[]; files: FakeAttachmentFile[]; at: number }[];
}

export interface CallbackRecord {
  readonly type: number;
  readonly data: Record<string, unknown> | null;
  readonly at: number;
}

/** One interaction the fake sent, and everything the bot did in response to it. */
export interface FakeInteraction {
  /** 2 application command, 3 component, 4 autocomplete. */
  readonly type: 2 | 3 | 4;
  readonly id: string;
  readonly token: string;
  readonly user: FakeUser;
  readonly createdAt: number;
  readonly callbacks: CallbackRecord[];
  /** The message `@original` refers to: the response (commands) or the clicked message (components). */
  original: FakeMessage | null;
  /** The message the bot created as its initial response (callback 4 or 5), if any. */
  response: FakeMessage | null;
  /** A deferred response still showing "thinking…" (neither edited nor deleted yet). */
  loading: boolean;
  readonly followups: FakeMessage[];
  /** Edits of `@original` (each PATCH), in order. */
  readonly edits: FakeMessage['history'];
}

export interface RestCall {
  readonly method: string;
  readonly path: string;
  readonly at: number;
  readonly status: number;
  readonly json: unknown;
  readonly files: FakeAttachmentFile[];
}

export interface UploadedAttachment {
  readonly id: string;
  readonly filename: string;
  readonly size: number;
  readonly url: string;
  readonly proxy_url: string;
  readonly content_type?: string;
  readonly width?: number;
  readonly height?: number;
}

interface ServedFile {
  readonly bytes: Buffer;
  readonly contentType: string;
  /** Hold the response this long before sending (download timeouts). */
  readonly delayMs: number;
  readonly status: number;
}

export interface FakeDiscordOptions {
  /** Lifetime of interaction tokens (Discord: 15 minutes). */
  readonly interactionTokenTtlMs?: number;
  /** Window for the initial response (Discord: 3 s). */
  readonly initialResponseWindowMs?: number;
}

type CommandOptionValue = string | number | boolean | UploadedAttachment;

let snowflakeCounter = 0n;
/** Discord-like ids: increasing 64-bit decimal strings. */
export function snowflake(): string {
  snowflakeCounter += 1n;
  return ((BigInt(Date.now() - 1420070400000) << 22n) + snowflakeCounter).toString();
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export class FakeDiscord {
  readonly botToken = `fake.${randomBytes(8).toString('hex')}`;
  readonly applicationId = snowflake();
  readonly botUserId = this.applicationId;
  readonly guildId = snowflake();
  readonly channelId = snowflake();
  readonly calls: RestCall[] = [];
  readonly interactions: FakeInteraction[] = [];
  readonly channelMessages: FakeMessage[] = [];
  /** Registered command sets: key "global" or the guild id. */
  readonly registeredCommands = new Map<string, unknown[]>();
  /** How many times a client identified (logins). */
  identifyCount = 0;

  private readonly messages = new Map<string, FakeMessage>();
  private readonly files = new Map<string, ServedFile>();
  private readonly sockets = new Set<WebSocket>();
  private readySocket: WebSocket | null = null;
  private readyWaiters: (() => void)[] = [];
  private sequence = 0;
  private readonly changeWaiters = new Set<() => void>();
  private editRateLimits = 0;
  private editRetryAfterSeconds = 0.3;
  private readonly tokenTtlMs: number;
  private readonly responseWindowMs: number;

  private constructor(
    private readonly http: ReturnType<typeof createServer>,
    private readonly wss: WebSocketServer,
    readonly origin: string,
    options: FakeDiscordOptions,
  ) {
    this.tokenTtlMs = options.interactionTokenTtlMs ?? 15 * 60_000;
    this.responseWindowMs = options.initialResponseWindowMs ?? 3_000;
  }

  static async start(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    const fake = new FakeDiscord(http, wss, `http://127.0.0.1:${port}`, options);
    http.on('request', (req, res) => void fake.handleHttp(req, res));
    wss.on('connection', (socket) => fake.handleSocket(socket));
    return fake;
  }

  /** discord.js's `rest.api` / the adapter's DISCORD_API_BASE. */
  get apiBase(): string {
    return `${this.origin}/api`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  user(username: string, permissions: bigint = EVERYONE_PERMISSIONS): FakeUser {
    return { id: snowflake(), username, permissions };
  }

  /** Resolves once a client has identified and received READY (again, after a restart). */
  async waitForReady(): Promise<void> {
    if (this.readySocket) return;
    await new Promise<void>((resolve) => this.readyWaiters.push(resolve));
  }

  /** Serves bytes at a URL under the fake's origin, as Discord's CDN would serve an upload. */
  serveFile(filename: string, bytes: Buffer, contentType: string, options: { delayMs?: number; status?: number } = {}): string {
    const path = `/attachments/${snowflake()}/${encodeURIComponent(filename)}`;
    this.files.set(path, { bytes, contentType, delayMs: options.delayMs ?? 0, status: options.status ?? 200 });
    return `${this.origin}${path}`;
  }

  /**
   * An attachment option value as Discord resolves it. `size`, `width`, `height` and `url` default to
   * the truth and may be overridden to model what Discord reports independently of the bytes.
   */
  upload(
    filename: string,
    bytes: Buffer,
    contentType: string,
    overrides: Partial<Pick<UploadedAttachment, 'size' | 'width' | 'height' | 'url'>> & { delayMs?: number; status?: number } = {},
  ): UploadedAttachment {
    const url = overrides.url ?? this.serveFile(filename, bytes, contentType, overrides);
    return {
      id: snowflake(),
      filename,
      size: overrides.size ?? bytes.byteLength,
      url,
      proxy_url: url,
      content_type: contentType,
      ...(overrides.width !== undefined ? { width: overrides.width } : {}),
      ...(overrides.height !== undefined ? { height: overrides.height } : {}),
    };
  }

  /** The next `count` webhook message edits are answered 429 with Retry-After, as Discord does. */
  rateLimitEdits(count: number, retryAfterSeconds = 0.3): void {
    this.editRateLimits = count;
    this.editRetryAfterSeconds = retryAfterSeconds;
  }

  /** A user runs a slash command; resolves once the gateway sent the interaction. */
  command(user: FakeUser, name: string, options: Record<string, CommandOptionValue | undefined> = {}): FakeInteraction {
    return this.dispatchInteraction(user, 2, this.commandData(name, options));
  }

  /**
   * A user types in an autocomplete option: `focused` names it, its (partial) value is in `options`.
   * The bot's choices arrive as callback type 8 (read them with `autocompleteChoices`).
   */
  autocomplete(user: FakeUser, name: string, options: Record<string, string | number | undefined>, focused: string): FakeInteraction {
    if (options[focused] === undefined) throw new Error(`fake discord: the focused option ${focused} needs a value`);
    const data = this.commandData(name, options);
    for (const option of data['options'] as Record<string, unknown>[]) if (option['name'] === focused) option['focused'] = true;
    return this.dispatchInteraction(user, 4, data);
  }

  /** The choices the bot answered an autocomplete interaction with. */
  async autocompleteChoices(interaction: FakeInteraction, timeoutMs = 5_000): Promise<{ name: string; value: string | number }[]> {
    const callback = await this.waitFor(() => interaction.callbacks.find((c) => c.type === 8), timeoutMs, `autocomplete result for ${interaction.id}`);
    return callback.data?.['choices'] as { name: string; value: string | number }[];
  }

  private registeredOptionType(command: string, option: string): number | undefined {
    const commands = (this.registeredCommands.get(this.guildId) ?? this.registeredCommands.get('global') ?? []) as { name: string; options?: { name: string; type: number }[] }[];
    return commands.find((c) => c.name === command)?.options?.find((o) => o.name === option)?.type;
  }

  private commandData(name: string, options: Record<string, CommandOptionValue | undefined>): Record<string, unknown> {
    const optionList: Record<string, unknown>[] = [];
    const attachments: Record<string, UploadedAttachment> = {};
    for (const [key, value] of Object.entries(options)) {
      if (value === undefined) continue;
      if (typeof value === 'object') {
        attachments[value.id] = value;
        optionList.push({ name: key, type: 11, value: value.id });
      } else {
        // As Discord does: the registered option's type (a number option set to 3 is still a number), else a guess.
        const type = this.registeredOptionType(name, key) ?? (typeof value === 'string' ? 3 : typeof value === 'boolean' ? 5 : Number.isInteger(value) ? 4 : 10);
        optionList.push({ name: key, type, value });
      }
    }
    return {
      id: snowflake(),
      name,
      type: 1,
      guild_id: this.guildId,
      options: optionList,
      ...(Object.keys(attachments).length > 0 ? { resolved: { attachments } } : {}),
    };
  }

  /** A user clicks a button on a message. */
  click(user: FakeUser, message: FakeMessage, customId: string): FakeInteraction {
    this.assertComponent(message, customId);
    return this.dispatchInteraction(user, 3, { custom_id: customId, component_type: 2 }, message);
  }

  /** A user picks values in a string select menu on a message. */
  select(user: FakeUser, message: FakeMessage, customId: string, values: string[]): FakeInteraction {
    this.assertComponent(message, customId);
    return this.dispatchInteraction(user, 3, { custom_id: customId, component_type: 3, values }, message);
  }

  /** Waits until `check` returns a value (not undefined/false), re-checking after every REST call. */
  async waitFor<T>(check: () => T | undefined | false | null, timeoutMs = 20_000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined && value !== false && value !== null) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake discord: timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 250));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.changeWaiters.add(done);
      });
    }
  }

  /** Messages visible in the channel: interaction responses and plain messages, not deleted. */
  visibleMessages(): FakeMessage[] {
    return [...this.messages.values()].filter((m) => !m.deleted);
  }

  // ---------------------------------------------------------------- gateway

  private handleSocket(socket: WebSocket): void {
    this.sockets.add(socket);
    const send = (payload: Record<string, unknown>) => socket.send(JSON.stringify(payload));
    send({ op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null });
    socket.on('message', (raw) => {
      const payload = JSON.parse(String(raw)) as { op: number; d: unknown };
      switch (payload.op) {
        case 1: // heartbeat
          send({ op: 11, d: null, s: null, t: null });
          break;
        case 2: {
          // identify
          const token = (payload.d as { token?: string }).token ?? '';
          if (token.replace(/^Bot /, '') !== this.botToken) {
            socket.close(4004, 'Authentication failed.');
            return;
          }
          this.identifyCount += 1;
          const sessionId = randomBytes(16).toString('hex');
          send({
            op: 0,
            t: 'READY',
            s: ++this.sequence,
            d: {
              v: 10,
              user: { id: this.botUserId, username: 'ddpm-bot', discriminator: '0', global_name: null, avatar: null, bot: true, flags: 0 },
              // No guilds: a guild listed here without a GUILD_CREATE would hold clientReady back ~15 s.
              guilds: [],
              session_id: sessionId,
              resume_gateway_url: this.origin.replace('http', 'ws'),
              application: { id: this.applicationId, flags: 0 },
              private_channels: [],
              relationships: [],
              presences: [],
              user_settings: {},
              guild_join_requests: [],
              geo_ordered_rtc_regions: [],
              shard: [0, 1],
            },
          });
          this.readySocket = socket;
          // discord.js emits clientReady on the next tick after READY; give it a moment before dispatching.
          setTimeout(() => {
            if (this.readySocket !== socket) return;
            for (const resolve of this.readyWaiters.splice(0)) resolve();
          }, 50);
          break;
        }
        case 6: // resume: not supported; ask for a fresh identify
          send({ op: 9, d: false, s: null, t: null });
          break;
        default:
          break;
      }
    });
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (this.readySocket === socket) this.readySocket = null;
    });
  }

  private dispatchInteraction(user: FakeUser, type: 2 | 3 | 4, data: Record<string, unknown>, message?: FakeMessage): FakeInteraction {
    const socket = this.readySocket;
    if (!socket) throw new Error('fake discord: no client is connected');
    const interaction: FakeInteraction = {
      type,
      id: snowflake(),
      token: `itoken.${randomBytes(24).toString('base64url')}`,
      user,
      createdAt: Date.now(),
      callbacks: [],
      original: message ?? null,
      response: null,
      loading: false,
      followups: [],
      edits: [],
    };
    this.interactions.push(interaction);
    socket.send(
      JSON.stringify({
        op: 0,
        t: 'INTERACTION_CREATE',
        s: ++this.sequence,
        d: {
          id: interaction.id,
          application_id: this.applicationId,
          type,
          data,
          guild_id: this.guildId,
          channel_id: this.channelId,
          channel: { id: this.channelId, type: 0, guild_id: this.guildId, name: 'general', permissions: EVERYONE_PERMISSIONS.toString() },
          member: {
            user: { id: user.id, username: user.username, discriminator: '0', global_name: user.username, avatar: null },
            roles: [],
            joined_at: new Date(0).toISOString(),
            deaf: false,
            mute: false,
            flags: 0,
            pending: false,
            nick: null,
            avatar: null,
            permissions: user.permissions.toString(),
          },
          token: interaction.token,
          version: 1,
          app_permissions: EVERYONE_PERMISSIONS.toString(),
          locale: 'en-US',
          guild_locale: 'en-US',
          entitlements: [],
          authorizing_integration_owners: { '0': this.guildId },
          context: 0,
          attachment_size_limit: 10 * 1024 * 1024,
          ...(message ? { message: this.messageJson(message) } : {}),
        },
      }),
    );
    return interaction;
  }

  private assertComponent(message: FakeMessage, customId: string): void {
    const ids = message.components.flatMap((row) => ((row['components'] as Record<string, unknown>[] | undefined) ?? []).map((c) => c['custom_id']));
    if (!ids.includes(customId)) throw new Error(`fake discord: message ${message.id} has no component ${customId} (has ${ids.join(', ')})`);
    if (message.deleted) throw new Error('fake discord: the message was deleted');
  }

  // ---------------------------------------------------------------- REST

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', this.origin);
    const method = req.method ?? 'GET';
    let status = 200;
    let json: unknown = null;
    let files: FakeAttachmentFile[] = [];
    try {
      if (method === 'GET' && url.pathname.startsWith('/attachments/')) {
        await this.serveAttachment(url.pathname, res);
        return;
      }
      if (!url.pathname.startsWith(API_PREFIX)) throw new HttpError(404, 0, '404: Not Found');
      ({ json, files } = await parseBody(req, body));
      const route = decodeURIComponent(url.pathname.slice(API_PREFIX.length));
      const result = this.route(method, route, req.headers['authorization'], json, files);
      status = result === null ? 204 : 200;
      if (result === null) res.writeHead(status).end();
      else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(result));
    } catch (error) {
      const httpError = error instanceof HttpError ? error : new HttpError(500, 0, String(error));
      status = httpError.status;
      res.writeHead(status, { 'content-type': 'application/json', ...httpError.headers });
      res.end(JSON.stringify({ code: httpError.code, message: httpError.message, ...(status === 429 ? { retry_after: Number(httpError.headers['retry-after']), global: false } : {}) }));
    } finally {
      if (!url.pathname.startsWith('/attachments/')) {
        this.calls.push({ method, path: url.pathname, at: Date.now(), status, json, files });
      }
      for (const wake of this.changeWaiters) wake();
      this.changeWaiters.clear();
    }
  }

  private async serveAttachment(path: string, res: ServerResponse): Promise<void> {
    const file = this.files.get(path);
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    if (file.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, file.delayMs));
    if (res.destroyed) return;
    res.writeHead(file.status, { 'content-type': file.contentType, 'content-length': file.bytes.byteLength });
    res.end(file.status === 200 ? file.bytes : undefined);
  }

  private route(method: string, route: string, authorization: string | undefined, json: unknown, files: FakeAttachmentFile[]): unknown {
    const body = (json ?? {}) as Record<string, unknown>;
    let m: RegExpMatchArray | null;
    if (method === 'GET' && route === '/gateway/bot') {
      this.requireBot(authorization);
      return {
        url: this.origin.replace('http', 'ws'),
        shards: 1,
        session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 },
      };
    }
    if ((m = route.match(/^\/interactions\/(\d+)\/([^/]+)\/callback$/)) && method === 'POST') {
      return this.interactionCallback(m[1]!, m[2]!, body, files);
    }
    if ((m = route.match(/^\/webhooks\/(\d+)\/([^/]+)\/messages\/(@original|\d+)$/))) {
      const interaction = this.interactionByToken(m[1]!, m[2]!);
      const message = m[3] === '@original' ? interaction.original : (interaction.followups.find((f) => f.id === m![3]) ?? null);
      if (!message || message.deleted) throw new HttpError(404, 10008, 'Unknown Message');
      if (method === 'PATCH') {
        if (this.editRateLimits > 0) {
          this.editRateLimits -= 1;
          const seconds = String(this.editRetryAfterSeconds);
          throw new HttpError(429, 0, 'You are being rate limited.', {
            'retry-after': seconds,
            'x-ratelimit-limit': '5',
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset-after': seconds,
            'x-ratelimit-scope': 'user',
          });
        }
        this.applyEdit(message, body, files);
        if (m[3] === '@original') {
          interaction.edits.push(message.history.at(-1)!);
          interaction.loading = false;
        }
        return this.messageJson(message);
      }
      if (method === 'DELETE') {
        message.deleted = true;
        if (m[3] === '@original') interaction.loading = false;
        return null;
      }
      if (method === 'GET') return this.messageJson(message);
    }
    if ((m = route.match(/^\/webhooks\/(\d+)\/([^/]+)$/)) && method === 'POST') {
      const interaction = this.interactionByToken(m[1]!, m[2]!);
      if (interaction.callbacks.length === 0) throw new HttpError(404, 10015, 'Unknown Webhook');
      if (interaction.loading && interaction.response) {
        // Discord's backwards compatibility: a follow-up while "thinking…" resolves the deferred
        // message itself, keeping the deferral's flags (a public deferral cannot turn ephemeral).
        interaction.loading = false;
        const { flags: _ignored, ...rest } = body;
        this.applyEdit(interaction.response, rest, files);
        interaction.edits.push(interaction.response.history.at(-1)!);
        return this.messageJson(interaction.response);
      }
      const message = this.createMessage(body, files, interaction.token);
      interaction.followups.push(message);
      return this.messageJson(message);
    }
    if ((m = route.match(/^\/channels\/(\d+)\/messages$/)) && method === 'POST') {
      this.requireBot(authorization);
      if (m[1] !== this.channelId) throw new HttpError(404, 10003, 'Unknown Channel');
      const message = this.createMessage(body, files, null);
      this.channelMessages.push(message);
      return this.messageJson(message);
    }
    if ((m = route.match(/^\/channels\/(\d+)\/messages\/(\d+)$/))) {
      this.requireBot(authorization);
      const message = this.messages.get(m[2]!);
      if (!message || message.deleted) throw new HttpError(404, 10008, 'Unknown Message');
      if (method === 'DELETE') {
        message.deleted = true;
        return null;
      }
      if (method === 'PATCH') {
        this.applyEdit(message, body, files);
        return this.messageJson(message);
      }
    }
    if ((m = route.match(/^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/)) && method === 'PUT') {
      this.requireBot(authorization);
      if (m[1] !== this.applicationId) throw new HttpError(403, 50001, 'Missing Access');
      const commands = (json as unknown[]).map((c) => ({ id: snowflake(), application_id: this.applicationId, version: snowflake(), ...(c as object) }));
      this.registeredCommands.set(m[2] ?? 'global', commands);
      return commands;
    }
    throw new HttpError(404, 0, `fake discord: no route ${method} ${route}`);
  }

  private requireBot(authorization: string | undefined): void {
    if (authorization !== `Bot ${this.botToken}`) throw new HttpError(401, 0, '401: Unauthorized');
  }

  private interactionByToken(applicationId: string, token: string): FakeInteraction {
    const interaction = this.interactions.find((i) => i.token === token);
    if (!interaction || applicationId !== this.applicationId) throw new HttpError(404, 10015, 'Unknown Webhook');
    if (Date.now() - interaction.createdAt > this.tokenTtlMs) throw new HttpError(401, 50027, 'Invalid Webhook Token');
    return interaction;
  }

  private interactionCallback(id: string, token: string, body: Record<string, unknown>, files: FakeAttachmentFile[]): unknown {
    const interaction = this.interactions.find((i) => i.id === id && i.token === token);
    if (!interaction) throw new HttpError(404, 10062, 'Unknown interaction');
    if (interaction.callbacks.length > 0) throw new HttpError(400, 40060, 'Interaction has already been acknowledged.');
    if (Date.now() - interaction.createdAt > this.responseWindowMs) throw new HttpError(404, 10062, 'Unknown interaction');
    const type = Number(body['type']);
    const data = (body['data'] as Record<string, unknown> | undefined) ?? null;
    // Autocomplete interactions take only a result (8), and nothing else takes one.
    if ((interaction.type === 4) !== (type === 8)) throw new HttpError(400, 50035, `Invalid Form Body: callback type ${type} for interaction type ${interaction.type}`);
    if (type === 8) checkAutocompleteChoices(data);
    interaction.callbacks.push({ type, data, at: Date.now() });
    switch (type) {
      case 4: // CHANNEL_MESSAGE_WITH_SOURCE
      case 5: // DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
        interaction.original = this.createMessage(type === 5 ? { flags: data?.['flags'] } : (data ?? {}), files, interaction.token);
        interaction.response = interaction.original;
        interaction.loading = type === 5;
        break;
      case 6: // DEFERRED_UPDATE_MESSAGE
        break;
      case 8: // APPLICATION_COMMAND_AUTOCOMPLETE_RESULT: shown in the client, no message
        break;
      case 7: // UPDATE_MESSAGE
        if (!interaction.original) throw new HttpError(400, 0, 'no message to update');
        this.applyEdit(interaction.original, data ?? {}, files);
        break;
      default:
        throw new HttpError(400, 0, `fake discord: unsupported callback type ${type}`);
    }
    return null;
  }

  private createMessage(body: Record<string, unknown>, files: FakeAttachmentFile[], interactionToken: string | null): FakeMessage {
    const message: FakeMessage = {
      id: snowflake(),
      channelId: this.channelId,
      interactionToken,
      content: '',
      embeds: [],
      components: [],
      files: [],
      flags: Number(body['flags'] ?? 0),
      allowedMentions: null,
      deleted: false,
      history: [],
    };
    this.messages.set(message.id, message);
    this.applyEdit(message, body, files);
    return message;
  }

  private applyEdit(message: FakeMessage, body: Record<string, unknown>, files: FakeAttachmentFile[]): void {
    if (typeof body['content'] === 'string') message.content = body['content'];
    if (Array.isArray(body['embeds'])) message.embeds = body['embeds'] as Record<string, unknown>[];
    if (Array.isArray(body['components'])) message.components = body['components'] as Record<string, unknown>[];
    if (body['allowed_mentions'] !== undefined) message.allowedMentions = body['allowed_mentions'] as Record<string, unknown>;
    if (Array.isArray(body['attachments'])) {
      // Kept attachments are listed by id (existing) or refer to a new upload by its files[n] index.
      const existing = this.messageJson(message)['attachments'] as { id: string }[];
      const kept = (body['attachments'] as { id: string | number }[]).map((a) => {
        const id = String(a.id);
        // New uploads are referred to by their files[n] index; kept ones by their snowflake.
        if (/^\d{1,2}$/.test(id)) return files[Number(id)];
        const index = existing.findIndex((e) => e.id === id);
        return index >= 0 ? message.files[index] : undefined;
      });
      message.files = kept.filter((f): f is FakeAttachmentFile => f !== undefined);
    } else if (files.length > 0) {
      message.files = [...message.files, ...files];
    }
    message.history.push({ content: message.content, embeds: message.embeds, files: message.files, at: Date.now() });
  }

  private messageJson(message: FakeMessage): Record<string, unknown> {
    return {
      id: message.id,
      type: message.interactionToken ? 20 : 0,
      channel_id: message.channelId,
      guild_id: this.guildId,
      author: { id: this.botUserId, username: 'ddpm-bot', discriminator: '0', global_name: null, avatar: null, bot: true },
      content: message.content,
      embeds: message.embeds,
      components: message.components,
      attachments: message.files.map((f, i) => {
        const url = `${this.origin}/attachments/${message.id}/${i}/${encodeURIComponent(f.filename)}`;
        return { id: `${message.id}${i}`, filename: f.filename, size: f.bytes.byteLength, url, proxy_url: url, content_type: f.contentType };
      }),
      mentions: [],
      mention_roles: [],
      mention_everyone: false,
      pinned: false,
      tts: false,
      timestamp: new Date(message.history[0]?.at ?? Date.now()).toISOString(),
      edited_timestamp: message.history.length > 1 ? new Date(message.history.at(-1)!.at).toISOString() : null,
      flags: message.flags,
      ...(message.interactionToken ? { webhook_id: this.applicationId, application_id: this.applicationId } : {}),
    };
  }
}

/** Discord's rules for autocomplete results: at most 25 choices, names and string values of 1..100 characters. */
function checkAutocompleteChoices(data: Record<string, unknown> | null): void {
  const choices = data?.['choices'];
  if (!Array.isArray(choices)) throw new HttpError(400, 50035, 'Invalid Form Body: data.choices is required');
  if (choices.length > 25) throw new HttpError(400, 50035, 'Invalid Form Body: data.choices must have at most 25 items');
  for (const choice of choices as { name?: unknown; value?: unknown }[]) {
    const name = String(choice.name ?? '');
    if (name.length < 1 || name.length > 100) throw new HttpError(400, 50035, 'Invalid Form Body: choice name must be 1..100 characters');
    if (typeof choice.value === 'string' ? choice.value.length < 1 || choice.value.length > 100 : typeof choice.value !== 'number') {
      throw new HttpError(400, 50035, 'Invalid Form Body: choice value must be a string of 1..100 characters or a number');
    }
  }
}

async function parseBody(req: IncomingMessage, body: Buffer): Promise<{ json: unknown; files: FakeAttachmentFile[] }> {
  const type = req.headers['content-type'] ?? '';
  if (body.byteLength === 0) return { json: null, files: [] };
  if (type.startsWith('multipart/form-data')) {
    const form = await new Response(body, { headers: { 'content-type': type } }).formData();
    const files: FakeAttachmentFile[] = [];
    for (const [key, value] of form.entries()) {
      const index = /^files\[(\d+)\]$/.exec(key)?.[1];
      if (index !== undefined && typeof value !== 'string') {
        files[Number(index)] = { filename: value.name, contentType: value.type, bytes: Buffer.from(await value.arrayBuffer()) };
      }
    }
    const payload = form.get('payload_json');
    return { json: typeof payload === 'string' ? JSON.parse(payload) : null, files };
  }
  return { json: JSON.parse(body.toString('utf8')), files: [] };
}

export { EPHEMERAL };
