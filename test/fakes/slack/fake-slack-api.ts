/**
 * A local fake of the Slack Web API (and of the file upload host, private file downloads and
 * response_url endpoints) on 127.0.0.1, recording every call. Bolt's real WebClient talks to it via
 * SLACK_API_URL. Only what the adapter uses is implemented; unknown methods answer
 * { ok: false, error: 'unknown_method' } so a missing fake shows up as a failed call, not a hang.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import { FakeViews, type ViewObject } from './fake-views.ts';
import { messageError } from './message-rules.ts';

export interface RecordedCall {
  readonly method: string;
  readonly args: Record<string, unknown>;
  readonly at: number;
}

export interface UploadedFile {
  readonly id: string;
  readonly filename: string;
  readonly bytes: Buffer;
  readonly altText: string | undefined;
}

/** The request id a result upload's caption names. */
export function requestIdOf(upload: CompletedUpload): string {
  const id = /request `([0-9a-f-]{36})`/.exec(upload.initialComment ?? '')?.[1];
  if (!id) throw new Error(`no request id in caption: ${upload.initialComment}`);
  return id;
}

export interface CompletedUpload {
  readonly channelId: string | undefined;
  readonly threadTs: string | undefined;
  readonly initialComment: string | undefined;
  readonly files: UploadedFile[];
}

export interface PostedMessage {
  readonly channel: string;
  readonly ts: string;
  readonly threadTs: string | undefined;
  /** Text when posted; `text` follows chat.update. */
  readonly initialText: string;
  text: string;
  blocks: unknown;
  deleted: boolean;
  readonly edits: string[];
}

/** A file a user shared, served by files.list and downloadable at its url_private_download. */
export interface SharedFileSpec {
  readonly channel: string;
  readonly user: string;
  readonly name: string;
  readonly bytes: Buffer;
  readonly mimetype: string;
  /** Unix seconds; default now. */
  readonly created?: number;
}

export const FAKE_TEAM = 'T0FAKE';
export const FAKE_BOT_USER = 'UBOT';

export class FakeSlackApi {
  readonly calls: RecordedCall[] = [];
  readonly messages: PostedMessage[] = [];
  readonly uploads: CompletedUpload[] = [];
  /** Open modals with their state and hash, as Slack keeps them (fake-views.ts). */
  readonly views = new FakeViews();

  uploadsIn(channel: string): CompletedUpload[] {
    return this.uploads.filter((u) => u.channelId === channel);
  }
  readonly responses: { id: string; body: Record<string, unknown> }[] = [];
  readonly unauthorized: string[] = [];
  private readonly pendingUploads = new Map<string, { filename: string; length: number; altText: string | undefined; bytes?: Buffer }>();
  private readonly shared: (SharedFileSpec & { id: string })[] = [];
  private readonly waiters = new Set<() => void>();
  private tsCounter = 0;
  private server: Server | null = null;
  private base = '';
  private wss: WebSocketServer | null = null;
  private readonly sockets = new Set<WebSocket>();
  /** Channels the bot is not a member of: posting there fails with not_in_channel. */
  readonly closedChannels = new Set<string>();
  /** One-shot failures: the next call of the method answers { ok: false, error }. */
  readonly failNext = new Map<string, string>();
  /** Socket Mode acknowledgements received from the app: { envelope_id, payload }. */
  readonly socketAcks: { envelope_id: string; payload: Record<string, unknown> }[] = [];

  /** `appToken` (xapp-...) is accepted by apps.connections.open for Socket Mode. */
  constructor(
    readonly token: string,
    readonly appToken?: string,
  ) {}

  /** Socket Mode connections currently open. */
  get socketCount(): number {
    return this.sockets.size;
  }

  /** Sends an envelope (as Slack does over Socket Mode) to every connected app. */
  sendEnvelope(envelope: { envelope_id: string; type: string; payload: object; accepts_response_payload?: boolean; retry_attempt?: number }): void {
    for (const ws of this.sockets) ws.send(JSON.stringify(envelope));
  }

  /** http://127.0.0.1:port/api/ (SLACK_API_URL). */
  get apiUrl(): string {
    return `${this.base}/api/`;
  }

  get origin(): string {
    return this.base;
  }

  responseUrl(id: string = randomUUID()): string {
    return `${this.base}/response/${id}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.wss = new WebSocketServer({ server: this.server, path: '/socket-mode' });
    this.wss.on('connection', (ws) => {
      this.sockets.add(ws);
      ws.on('close', () => {
        this.sockets.delete(ws);
        this.changed();
      });
      ws.on('message', (data) => {
        this.socketAcks.push(JSON.parse(String(data)) as { envelope_id: string; payload: Record<string, unknown> });
        this.changed();
      });
      ws.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0FAKE' }, debug_info: { host: 'fake', approximate_connection_time: 3600 } }));
      this.changed();
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const ws of this.sockets) ws.terminate();
    this.wss?.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  shareFile(spec: SharedFileSpec): string {
    const id = `F${randomUUID().slice(0, 8).toUpperCase()}`;
    this.shared.push({ ...spec, id });
    return id;
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves once `check` returns a value other than undefined/false; rejects after `timeoutMs`. */
  async waitFor<T>(check: () => T | undefined | false | null, timeoutMs = 20_000, what = 'condition'): Promise<T> {
    const first = check();
    if (first !== undefined && first !== false && first !== null) return first;
    return new Promise<T>((resolve, reject) => {
      const onChange = () => {
        const value = check();
        if (value !== undefined && value !== false && value !== null) {
          cleanup();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; calls: ${this.calls.map((c) => c.method).join(', ')}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(onChange);
      };
      this.waiters.add(onChange);
    });
  }

  private changed(): void {
    for (const w of [...this.waiters]) w();
  }

  private nextTs(): string {
    this.tsCounter += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.tsCounter).padStart(6, '0')}`;
  }

  private authorized(req: IncomingMessage, args: Record<string, unknown>): boolean {
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : typeof args['token'] === 'string' ? args['token'] : undefined;
    return token === this.token;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    const body = await readBody(req);
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      this.changed();
    };

    if (url.pathname.startsWith('/upload/') && req.method === 'POST') {
      const id = url.pathname.slice('/upload/'.length);
      const pending = this.pendingUploads.get(id);
      if (!pending) return json(404, { ok: false, error: 'unknown_upload' });
      const bytes = multipartField(req.headers['content-type'] ?? '', body, 'body') ?? body;
      pending.bytes = bytes;
      this.calls.push({ method: 'upload', args: { file_id: id, length: bytes.length }, at: Date.now() });
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${bytes.length}`);
      this.changed();
      return;
    }
    if (url.pathname.startsWith('/files/') && req.method === 'GET') {
      const file = this.shared.find((f) => f.id === url.pathname.slice('/files/'.length));
      if (!file) return json(404, { ok: false });
      if (req.headers.authorization !== `Bearer ${this.token}`) {
        // Like Slack: without the token a private file URL yields an HTML login page.
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>sign in</html>');
        return;
      }
      res.writeHead(200, { 'content-type': file.mimetype, 'content-length': file.bytes.length }).end(file.bytes);
      return;
    }
    if (url.pathname.startsWith('/response/') && req.method === 'POST') {
      const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      this.responses.push({ id: url.pathname.slice('/response/'.length), body: parsed });
      this.calls.push({ method: 'response_url', args: parsed, at: Date.now() });
      return json(200, { ok: true });
    }
    if (!url.pathname.startsWith('/api/')) return json(404, { ok: false, error: 'not_found' });

    const method = url.pathname.slice('/api/'.length);
    const args = parseArgs(req.headers['content-type'] ?? '', body);
    this.calls.push({ method, args, at: Date.now() });
    if (method === 'apps.connections.open') {
      if (!this.appToken || req.headers.authorization !== `Bearer ${this.appToken}`) return json(200, { ok: false, error: 'invalid_auth' });
      return json(200, { ok: true, url: `${this.base.replace('http:', 'ws:')}/socket-mode` });
    }
    if (!this.authorized(req, args)) {
      this.unauthorized.push(method);
      return json(200, { ok: false, error: 'invalid_auth' });
    }
    const str = (k: string) => (typeof args[k] === 'string' ? (args[k] as string) : undefined);
    const injected = this.failNext.get(method);
    if (injected) {
      this.failNext.delete(method);
      return json(200, { ok: false, error: injected });
    }
    const channel = str('channel') ?? str('channel_id');
    if (channel && this.closedChannels.has(channel) && /^(chat\.|files\.completeUploadExternal)/.test(method)) {
      return json(200, { ok: false, error: 'not_in_channel' });
    }
    switch (method) {
      case 'auth.test':
        return json(200, { ok: true, url: 'https://fake.slack.com/', team: 'Fake', user: 'ddpm-bot', team_id: FAKE_TEAM, user_id: FAKE_BOT_USER, bot_id: 'BBOT' });
      case 'views.open':
        return json(200, { ok: true, view: this.views.snapshot(this.views.open(args['view'] as ViewObject)) });
      case 'views.update':
        return json(200, this.views.update(str('view_id'), str('hash'), args['view'] as ViewObject));
      case 'chat.postMessage': {
        const invalid = messageError(args);
        if (invalid) return json(200, { ok: false, error: invalid });
        const ts = this.nextTs();
        const channel = str('channel') ?? '';
        this.messages.push({ channel, ts, threadTs: str('thread_ts'), initialText: str('text') ?? '', text: str('text') ?? '', blocks: args['blocks'], deleted: false, edits: [] });
        return json(200, { ok: true, channel, ts, message: { text: str('text'), ts } });
      }
      case 'chat.update': {
        const message = this.messages.find((m) => m.channel === str('channel') && m.ts === str('ts') && !m.deleted);
        if (!message) return json(200, { ok: false, error: 'message_not_found' });
        const invalid = messageError(args);
        if (invalid) return json(200, { ok: false, error: invalid });
        message.text = str('text') ?? '';
        message.edits.push(message.text);
        if (args['blocks'] !== undefined) message.blocks = args['blocks'];
        return json(200, { ok: true, channel: message.channel, ts: message.ts });
      }
      case 'chat.delete': {
        const message = this.messages.find((m) => m.channel === str('channel') && m.ts === str('ts') && !m.deleted);
        if (!message) return json(200, { ok: false, error: 'message_not_found' });
        message.deleted = true;
        return json(200, { ok: true, channel: message.channel, ts: message.ts });
      }
      case 'chat.postEphemeral':
        return json(200, { ok: true, message_ts: this.nextTs() });
      case 'files.getUploadURLExternal': {
        const fileId = `F${randomUUID().slice(0, 8).toUpperCase()}`;
        this.pendingUploads.set(fileId, { filename: str('filename') ?? '', length: Number(args['length']), altText: str('alt_text') });
        return json(200, { ok: true, upload_url: `${this.base}/upload/${fileId}`, file_id: fileId });
      }
      case 'files.completeUploadExternal': {
        const files = (args['files'] as { id: string; title?: string }[] | undefined) ?? [];
        const done: UploadedFile[] = [];
        for (const f of files) {
          const pending = this.pendingUploads.get(f.id);
          if (!pending?.bytes) return json(200, { ok: false, error: 'file_not_uploaded' });
          if (pending.bytes.length !== pending.length) return json(200, { ok: false, error: 'length_mismatch' });
          done.push({ id: f.id, filename: pending.filename, bytes: pending.bytes, altText: pending.altText });
        }
        this.uploads.push({ channelId: str('channel_id'), threadTs: str('thread_ts'), initialComment: str('initial_comment'), files: done });
        // As Slack: the files' ids and titles (the WebClient sends the file name as the default title).
        return json(200, { ok: true, files: files.map((f, i) => ({ id: f.id, title: f.title ?? done[i]!.filename })) });
      }
      case 'files.list': {
        const from = Number(str('ts_from') ?? 0);
        const files = this.shared
          .filter((f) => (!str('channel') || f.channel === str('channel')) && (!str('user') || f.user === str('user')))
          .filter((f) => (f.created ?? Date.now() / 1000) >= from)
          .map((f) => ({
            id: f.id,
            name: f.name,
            title: f.name,
            user: f.user,
            mimetype: f.mimetype,
            size: f.bytes.length,
            created: Math.floor(f.created ?? Date.now() / 1000),
            channels: [f.channel],
            url_private: `${this.base}/files/${f.id}`,
            url_private_download: `${this.base}/files/${f.id}`,
          }))
          .sort((a, b) => b.created - a.created);
        return json(200, { ok: true, files, paging: { count: files.length, total: files.length, page: 1, pages: 1 } });
      }
      default:
        return json(200, { ok: false, error: 'unknown_method' });
    }
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Form or JSON body; form values that hold JSON (blocks, files, view) are decoded like Slack does. */
function parseArgs(contentType: string, body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8');
  if (contentType.includes('application/json')) return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    if (/^[[{]/.test(v)) {
      try {
        out[k] = JSON.parse(v);
        continue;
      } catch {
        // keep the string
      }
    }
    out[k] = v;
  }
  return out;
}

/** The bytes of one multipart/form-data field. */
export function multipartField(contentType: string, body: Buffer, name: string): Buffer | null {
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!match) return null;
  const boundary = Buffer.from(`--${match[1] ?? match[2]}`);
  let pos = body.indexOf(boundary);
  while (pos !== -1) {
    const headerStart = pos + boundary.length + 2;
    const headerEnd = body.indexOf('\r\n\r\n', headerStart);
    if (headerEnd === -1) return null;
    const headers = body.subarray(headerStart, headerEnd).toString('utf8');
    const next = body.indexOf(boundary, headerEnd);
    if (next === -1) return null;
    if (new RegExp(`name="${name}"`).test(headers)) return body.subarray(headerEnd + 4, next - 2);
    pos = next;
  }
  return null;
}
