/**
 * `@ddpm-bot [model:..] [sampler:..] [steps:..] [seed:..] [count:..] [<sampler option>:..]` in a channel: the same
 * as /generate, answered in the mention's thread. Events are what Slack retries most (X-Slack-Retry-Num),
 * so the retry guard keys on the event_id.
 */
import type { App } from '@slack/bolt';
import type { SlackDeps } from '../context.ts';
import type { SlackReplyTo } from '../reply-to.ts';
import { slackRequester } from '../context.ts';
import { replyToJson } from '../reply-to.ts';
import { ephemeral, reportError, runGesture } from '../gesture.ts';
import { parseGenerateText } from '../options.ts';
import { generateHelp } from '../text.ts';

export function registerAppMention(app: App, deps: SlackDeps): void {
  app.event('app_mention', async ({ event, body, client, context }) => {
    const user = event.user;
    if (!user) return;
    const channel = event.channel;
    const threadTs = event.thread_ts ?? event.ts;
    const notify = ephemeral(client, channel, user, threadTs);
    // Everything after the mention(s) is the option text.
    const text = event.text.replace(/<@[A-Z0-9]+(\|[^>]*)?>/g, ' ').trim();
    let options;
    try {
      options = parseGenerateText(text, deps.catalog.samplers.list());
    } catch (error) {
      await reportError(deps, notify, error);
      return;
    }
    if (options === null) {
      await notify(generateHelp(deps.catalog));
      return;
    }
    const teamId = body.team_id ?? null;
    const requester = slackRequester(teamId, channel, user);
    const reply: SlackReplyTo = { platform: 'slack', teamId, channel, threadTs, userId: user, dedupeKey: `event:${body.event_id}` };
    await runGesture({
      deps,
      requester,
      reply,
      retryNum: context.retryNum,
      title: `<@${user}> generating`,
      notify,
      submit: () => deps.service.submitGeneration({ requester, params: options, replyTo: replyToJson(reply) }),
    });
  });
}
