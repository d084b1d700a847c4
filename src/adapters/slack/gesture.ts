/** The steps every gesture shares after it is acknowledged: the retry guard, submit, track, and telling the user what went wrong. */
import type { webApi } from '@slack/bolt';
import type { Submitted } from '../../jobs/service.ts';
import { DuplicateRequestError, ForbiddenError, NotFoundError, RateLimitError, ValidationError } from '../../jobs/types.ts';
import type { Requester } from '../../jobs/types.ts';
import { ImageInputError } from '../../render/input.ts';
import type { SlackDeps } from './context.ts';
import type { SlackReplyTo } from './reply-to.ts';
import { replyToSchema } from './reply-to.ts';
import { OptionsError } from './options.ts';
import { SlackUserError, userMessage } from './text.ts';

export type Notify = (text: string) => Promise<void>;

export interface GestureRun {
  readonly deps: SlackDeps;
  readonly requester: Requester;
  readonly reply: SlackReplyTo;
  readonly retryNum: number | undefined;
  /** Status message title, e.g. "<@U1> /generate steps:20" (read after submit). */
  readonly title: string | (() => string);
  /** Tells only the user (ephemeral). */
  readonly notify: Notify;
  readonly submit: () => Promise<Submitted>;
}

const USER_ERRORS = [OptionsError, ValidationError, RateLimitError, ImageInputError, SlackUserError, NotFoundError, ForbiddenError];

/** Runs a submitted gesture once per Slack delivery; user errors become ephemeral messages. */
export async function runGesture(run: GestureRun): Promise<string | null> {
  const { deps } = run;
  try {
    if (!deps.guard.firstDelivery(run.reply.dedupeKey)) {
      deps.logger.info({ key: run.reply.dedupeKey, retryNum: run.retryNum }, 'slack: repeated delivery ignored');
      return null;
    }
    const submitted = await run.submit();
    const title = typeof run.title === 'function' ? run.title() : run.title;
    deps.logger.info({ requestId: submitted.id, key: run.reply.dedupeKey }, 'slack: request submitted');
    const status = deps.delivery.track(submitted.id, replyToSchema.parse(run.reply), { title, position: submitted.position });
    // No status: the request is already being finished, so its result is on its way.
    const postError = status ? await status.postFailure() : null;
    if (postError) {
      // Results could not be posted here either: cancel rather than compute for nobody, and say how to fix it.
      deps.delivery.forget(submitted.id);
      await deps.service.cancel(submitted.id, run.requester).catch(() => false);
      const hint =
        postError === 'not_in_channel' || postError === 'channel_not_found'
          ? 'Invite me to this channel (`/invite @ddpm-bot`) and try again.'
          : 'Please try again in a moment.';
      await run.notify(`I cannot post in this channel (${postError}), so I cancelled request \`${submitted.id}\`. ${hint}`);
      return null;
    }
    return submitted.id;
  } catch (error) {
    if (error instanceof DuplicateRequestError) {
      deps.logger.info({ key: run.reply.dedupeKey, retryNum: run.retryNum, requestId: error.requestId }, 'slack: repeated delivery ignored');
    } else {
      await reportError(deps, run.notify, error);
    }
    return null;
  }
}

export async function reportError(deps: SlackDeps, notify: Notify, error: unknown): Promise<void> {
  if (!USER_ERRORS.some((E) => error instanceof E)) {
    deps.logger.error({ error: error instanceof Error ? error.stack ?? error.message : String(error) }, 'slack: gesture failed');
  }
  try {
    await notify(userMessage(error));
  } catch (notifyError) {
    deps.logger.warn({ error: String(notifyError) }, 'slack: could not send ephemeral error');
  }
}

/** Ephemeral message to one user in a channel (thread optional). */
export function ephemeral(client: webApi.WebClient, channel: string, user: string, threadTs?: string | null): Notify {
  return async (text) => {
    await client.chat.postEphemeral({ channel, user, text, ...(threadTs ? { thread_ts: threadTs } : {}) });
  };
}
