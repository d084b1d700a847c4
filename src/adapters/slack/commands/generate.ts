/** `/generate [model:..] [sampler:..] [steps:..] [seed:..] [eta:..] [count:..]` and `/generate help`. */
import type { App } from '@slack/bolt';
import type { SlackDeps, SlackReplyTo } from '../context.ts';
import { modelNames, replyToJson, samplerNames, slackRequester } from '../context.ts';
import { runGesture } from '../gesture.ts';
import { parseGenerateText } from '../options.ts';
import { formatOptions, generateHelp, userMessage } from '../text.ts';

export const GENERATE_COMMAND = '/generate';

export function registerGenerateCommand(app: App, deps: SlackDeps): void {
  app.command(GENERATE_COMMAND, async ({ command, ack, respond, context }) => {
    let options;
    try {
      options = parseGenerateText(command.text);
    } catch (error) {
      await ack({ response_type: 'ephemeral', text: userMessage(error) });
      return;
    }
    if (options === null) {
      await ack({ response_type: 'ephemeral', text: generateHelp(modelNames(deps.engine), samplerNames(deps.engine)) });
      return;
    }
    await ack();
    const requester = slackRequester(command.team_id, command.channel_id, command.user_id);
    const reply: SlackReplyTo = {
      platform: 'slack',
      teamId: command.team_id ?? null,
      channel: command.channel_id,
      threadTs: null,
      userId: command.user_id,
      dedupeKey: `command:${command.trigger_id}`,
    };
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
