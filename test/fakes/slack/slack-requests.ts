/**
 * What Slack sends to an app: slash commands (form), interactive payloads (form field `payload`),
 * signed exactly like Slack signs them: X-Slack-Signature = v0= + hex HMAC-SHA256(secret, "v0:{ts}:{raw body}").
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { FakeViews } from './fake-views.ts';

export function slackSignature(secret: string, timestamp: number, rawBody: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

export interface SendOptions {
  /** Unix seconds; default now. */
  readonly timestamp?: number;
  readonly retryNum?: number;
  /** Sign with this secret instead (forgery). */
  readonly signWith?: string;
  /** Leave out the signature and timestamp headers. */
  readonly unsigned?: boolean;
  /** Events API bodies are JSON; commands and interactivity are form-encoded. */
  readonly json?: boolean;
}

export interface SlackHttpResult {
  readonly status: number;
  readonly body: string;
}

export async function sendToApp(url: string, secret: string, rawBody: string, options: SendOptions = {}): Promise<SlackHttpResult> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { 'content-type': options.json ? 'application/json' : 'application/x-www-form-urlencoded' };
  if (!options.unsigned) {
    headers['x-slack-request-timestamp'] = String(timestamp);
    headers['x-slack-signature'] = slackSignature(options.signWith ?? secret, timestamp, rawBody);
  }
  if (options.retryNum !== undefined) {
    headers['x-slack-retry-num'] = String(options.retryNum);
    headers['x-slack-retry-reason'] = 'http_timeout';
  }
  const res = await fetch(url, { method: 'POST', headers, body: rawBody });
  return { status: res.status, body: await res.text() };
}

export interface CommandSpec {
  readonly command: string;
  readonly text: string;
  readonly channel: string;
  readonly user: string;
  readonly responseUrl: string;
  readonly triggerId?: string;
  readonly team?: string;
}

export function commandBody(c: CommandSpec): string {
  return new URLSearchParams({
    token: 'verification-token-unused',
    team_id: c.team ?? 'T0FAKE',
    team_domain: 'fake',
    channel_id: c.channel,
    channel_name: 'general',
    user_id: c.user,
    user_name: 'someone',
    command: c.command,
    text: c.text,
    api_app_id: 'A0FAKE',
    is_enterprise_install: 'false',
    response_url: c.responseUrl,
    trigger_id: c.triggerId ?? newTriggerId(),
  }).toString();
}

export function payloadBody(payload: object): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export function newTriggerId(): string {
  return `${Date.now()}.${Math.floor(Math.random() * 1e9)}.${randomUUID().replace(/-/g, '')}`;
}

export function messageShortcutPayload(o: { channel: string; user: string; messageTs: string; threadTs?: string; text: string; responseUrl: string; triggerId?: string }): object {
  return {
    type: 'message_action',
    callback_id: 'generate_from_message',
    trigger_id: o.triggerId ?? newTriggerId(),
    action_ts: `${Date.now() / 1000}`,
    message_ts: o.messageTs,
    response_url: o.responseUrl,
    token: 'verification-token-unused',
    team: { id: 'T0FAKE', domain: 'fake' },
    user: { id: o.user, name: 'someone', team_id: 'T0FAKE' },
    channel: { id: o.channel, name: 'general' },
    message: { type: 'message', user: 'UAUTHOR', ts: o.messageTs, text: o.text, ...(o.threadTs ? { thread_ts: o.threadTs } : {}) },
  };
}

type ModalRef = { id: string; callback_id: string; private_metadata: string };
type ModalValues = Record<string, Record<string, unknown>>;

/** What Slack sends about an open modal and its current state with its interactions. */
function modalViewOf(view: ModalRef, values: ModalValues): object {
  return {
    id: view.id,
    team_id: 'T0FAKE',
    type: 'modal',
    callback_id: view.callback_id,
    private_metadata: view.private_metadata,
    state: { values },
    hash: 'h',
    blocks: [],
    title: { type: 'plain_text', text: 'Generate an image' },
    app_id: 'A0FAKE',
    bot_id: 'BBOT',
  };
}

function interactionBase(type: string, user: string): object {
  return {
    type,
    team: { id: 'T0FAKE', domain: 'fake' },
    user: { id: user, username: 'someone', name: 'someone', team_id: 'T0FAKE' },
    api_app_id: 'A0FAKE',
    token: 'verification-token-unused',
    trigger_id: newTriggerId(),
  };
}

/**
 * The user picks `value` in a dispatch_action select of a modal the fake holds (FakeSlackApi.views): the
 * fake records the pick, and the block_actions payload carries the view's state and hash as Slack would.
 */
export function heldViewSelectPayload(o: { user: string; views: FakeViews; viewId: string; blockId: string; value: string }): object {
  o.views.pick(o.viewId, o.blockId, o.value);
  const view = o.views.snapshot(o.views.get(o.viewId));
  return {
    ...interactionBase('block_actions', o.user),
    container: { type: 'view', view_id: o.viewId },
    view,
    actions: [
      {
        type: 'static_select',
        block_id: o.blockId,
        action_id: 'value',
        selected_option: { text: { type: 'plain_text', text: o.value }, value: o.value },
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
}

/** Submits a modal the fake holds, with whatever its state holds now. */
export function heldViewSubmissionPayload(o: { user: string; views: FakeViews; viewId: string }): object {
  return { ...interactionBase('view_submission', o.user), view: o.views.snapshot(o.views.get(o.viewId)), response_urls: [] };
}

export function viewSubmissionPayload(o: { user: string; view: ModalRef; values: ModalValues }): object {
  return { ...interactionBase('view_submission', o.user), view: modalViewOf(o.view, o.values), response_urls: [] };
}

export function buttonPayload(o: { user: string; channel: string; messageTs: string; threadTs?: string; actionId: string; value: string; responseUrl: string }): object {
  return {
    type: 'block_actions',
    team: { id: 'T0FAKE', domain: 'fake' },
    user: { id: o.user, username: 'someone', name: 'someone', team_id: 'T0FAKE' },
    api_app_id: 'A0FAKE',
    token: 'verification-token-unused',
    container: { type: 'message', message_ts: o.messageTs, channel_id: o.channel, is_ephemeral: false, ...(o.threadTs ? { thread_ts: o.threadTs } : {}) },
    trigger_id: newTriggerId(),
    channel: { id: o.channel, name: 'general' },
    message: { type: 'message', ts: o.messageTs, text: 'result', ...(o.threadTs ? { thread_ts: o.threadTs } : {}) },
    response_url: o.responseUrl,
    actions: [
      { type: 'button', block_id: 'result_actions', action_id: o.actionId, text: { type: 'plain_text', text: o.actionId }, value: o.value, action_ts: `${Date.now() / 1000}` },
    ],
  };
}

export function appMentionEvent(o: { channel: string; user: string; text: string; ts: string; threadTs?: string; eventId?: string }): object {
  return {
    token: 'verification-token-unused',
    team_id: 'T0FAKE',
    api_app_id: 'A0FAKE',
    type: 'event_callback',
    event_id: o.eventId ?? `Ev${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: 'T0FAKE', user_id: 'UBOT', is_bot: true, is_enterprise_install: false }],
    event: {
      type: 'app_mention',
      user: o.user,
      text: o.text,
      ts: o.ts,
      channel: o.channel,
      event_ts: o.ts,
      ...(o.threadTs ? { thread_ts: o.threadTs } : {}),
    },
  };
}
