/** `/generate [model:..] [sampler:..] [steps:..] [seed:..] [count:..] [<sampler option>:..]` and `/generate help`. */
import type { App } from '@slack/bolt';
import type { SlackDeps } from '../context.ts';
import { slackRequester } from '../context.ts';
import { replyToJson } from '../reply-to.ts';
import { runGesture } from '../gesture.ts';
import { parseGenerateText } from '../options.ts';
import { formatOptions } from '../text.ts';
import { commandReplyTo, parseOrAnswer } from './slash.ts';

export const GENERATE_COMMAND = '/generate';

export function registerGenerateCommand(app: App, deps: SlackDeps): void {
  app.command(GENERATE_COMMAND, async ({ command, ack, respond, context }) => {
    const options = await parseOrAnswer(command.text, (text) => parseGenerateText(text, deps.catalog.samplers.list()), ack, deps);
    if (options === null) return;
    const requester = slackRequester(command.team_id, command.channel_id, command.user_id);
    const reply = commandReplyTo(command);
    await runGesture({
      deps,
      requester,
      reply,
      retryNum: context.retryNum,
      title: `<@${command.user_id}> \`${[GENERATE_COMMAND, formatOptions(options)].filter(Boolean).join(' ')}\``,
      notify: async (text) => {
        await respond({ response_type: 'ephemeral', text });
      },
      submit: () => deps.service.submitGeneration({ requester, params: options, replyTo: replyToJson(reply) }),
    });
  });
}
