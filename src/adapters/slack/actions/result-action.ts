/** Shared part of the buttons under a result: who clicked, where to answer, the request they point at. */
import type { BlockAction, webApi } from '@slack/bolt';
import type { Json, RequestView, Requester } from '../../../jobs/types.ts';
import type { Submitted } from '../../../jobs/service.ts';
import type { SlackDeps } from '../context.ts';
import type { SlackReplyTo } from '../reply-to.ts';
import { slackRequester } from '../context.ts';
import { parseReplyTo, replyToJson } from '../reply-to.ts';
import type { Notify } from '../gesture.ts';
import { ephemeral, runGesture } from '../gesture.ts';

export interface ResultClick {
  readonly original: RequestView;
  readonly requester: Requester;
  readonly reply: SlackReplyTo;
  readonly notify: Notify;
}

/** Null (after telling the user) when the button's request is unknown or the click has no channel. */
export async function resolveClick(
  deps: SlackDeps,
  client: webApi.WebClient,
  body: BlockAction,
  /** The clicked element: its value names the request (a button's), its timestamp dedupes without a trigger id. */
  action: { readonly value?: string | undefined; readonly action_ts: string },
  kind: string,
): Promise<ResultClick | null> {
  const channel = body.channel?.id ?? body.container?.['channel_id'];
  if (typeof channel !== 'string') return null;
  const user = body.user.id;
  const teamId = body.team?.id ?? null;
  const threadTs = (body.message?.['thread_ts'] as string | undefined) ?? null;
  const notify = ephemeral(client, channel, user, threadTs);
  // The button's value is ours, but a click payload is still input: an odd value is simply not found.
  const original = await deps.service.getRequest(action.value ?? '').catch(() => null);
  if (!original) {
    await notify('That request no longer exists, so I cannot build on it.').catch(() => undefined);
    return null;
  }
  const stored = parseReplyTo(original.replyTo);
  const reply: SlackReplyTo = {
    platform: 'slack',
    teamId,
    channel: stored?.channel ?? channel,
    threadTs: stored ? stored.threadTs : threadTs,
    userId: user,
    dedupeKey: `${kind}:${body.trigger_id ?? `${action.action_ts}:${user}`}`,
  };
  return { original, requester: slackRequester(teamId, reply.channel, user), reply, notify };
}

/** Submits what a click asks for, answered where the result is (runGesture: once per delivery, errors told privately). */
export function runClick(deps: SlackDeps, click: ResultClick, retryNum: number | undefined, title: string, submit: (replyTo: Json) => Promise<Submitted>): Promise<string | null> {
  return runGesture({ deps, requester: click.requester, reply: click.reply, retryNum, title, notify: click.notify, submit: () => submit(replyToJson(click.reply)) });
}
