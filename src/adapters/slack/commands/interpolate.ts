/**
 * `/interpolate seed_a:.. seed_b:.. [frames:..] [model:..] [sampler:..] [steps:..] [label:..]`, or
 * `label_a:.. label_b:.. [seed:..]` for class-conditional models: the strip of frames and their GIF.
 */
import type { App } from '@slack/bolt';
import type { SlackDeps } from '../context.ts';
import { slackRequester } from '../context.ts';
import { replyToJson } from '../reply-to.ts';
import { runGesture } from '../gesture.ts';
import { parseInterpolateText } from '../options.ts';
import { formatOptions } from '../text.ts';
import { commandReplyTo, parseOrAnswer } from './slash.ts';

export const INTERPOLATE_COMMAND = '/interpolate';

export function registerInterpolateCommand(app: App, deps: SlackDeps): void {
  app.command(INTERPOLATE_COMMAND, async ({ command, ack, respond, context }) => {
    const options = await parseOrAnswer(command.text, parseInterpolateText, ack, deps);
    if (options === null) return;
    const requester = slackRequester(command.team_id, command.channel_id, command.user_id);
    const reply = commandReplyTo(command);
    await runGesture({
      deps,
      requester,
      reply,
      retryNum: context.retryNum,
      title: `<@${command.user_id}> \`${[INTERPOLATE_COMMAND, formatOptions(options)].join(' ')}\``,
      notify: async (text) => {
        await respond({ response_type: 'ephemeral', text });
      },
      submit: () => deps.service.submitInterpolation({ requester, params: options, replyTo: replyToJson(reply) }),
    });
  });
}
