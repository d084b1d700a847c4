/** What every slash command does before its own work: parse the text or answer in the ack, and where to reply. */
import type { App, SlashCommand } from '@slack/bolt';
import type { Requester, Submitted } from '../../../jobs/service.ts';
import type { SlackDeps } from '../context.ts';
import { slackRequester } from '../context.ts';
import { runGesture } from '../gesture.ts';
import type { SlackReplyTo } from '../reply-to.ts';
import { replyToJson } from '../reply-to.ts';
import { formatOptions, generateHelp, userMessage } from '../text.ts';

type EphemeralAck = (response?: { response_type: 'ephemeral'; text: string }) => Promise<void>;

/**
 * Parses the command text. A parse error or `help` is answered ephemerally in the ack itself and
 * yields null; otherwise the command is acknowledged and its options returned.
 */
export async function parseOrAnswer<T>(
  text: string,
  parse: (text: string) => T | null,
  ack: EphemeralAck,
  deps: SlackDeps,
): Promise<T | null> {
  let options: T | null;
  try {
    options = parse(text);
  } catch (error) {
    await ack({ response_type: 'ephemeral', text: userMessage(error) });
    return null;
  }
  if (options === null) {
    await ack({ response_type: 'ephemeral', text: generateHelp(deps.catalog) });
    return null;
  }
  await ack();
  return options;
}

/** Replies to a slash command go to its channel; its trigger id makes Slack's retries recognisable. */
export function commandReplyTo(command: SlashCommand): SlackReplyTo {
  return {
    platform: 'slack',
    teamId: command.team_id ?? null,
    channel: command.channel_id,
    threadTs: null,
    userId: command.user_id,
    dedupeKey: `command:${command.trigger_id}`,
  };
}

/**
 * A slash command that queues one request: parse (or answer in the ack), then post the status message
 * and submit through the shared gesture, its title the command as typed.
 */
export function registerQueuedCommand<T extends Record<string, unknown>>(
  app: App,
  deps: SlackDeps,
  name: string,
  parse: (text: string) => T | null,
  submit: (input: { requester: Requester; params: T; replyTo: ReturnType<typeof replyToJson> }) => Promise<Submitted>,
): void {
  app.command(name, async ({ command, ack, respond, context }) => {
    const options = await parseOrAnswer(command.text, parse, ack, deps);
    if (options === null) return;
    const requester = slackRequester(command.team_id, command.channel_id, command.user_id);
    const reply = commandReplyTo(command);
    await runGesture({
      deps,
      requester,
      reply,
      retryNum: context.retryNum,
      title: `<@${command.user_id}> \`${[name, formatOptions(options)].filter(Boolean).join(' ')}\``,
      notify: async (text) => {
        await respond({ response_type: 'ephemeral', text });
      },
      submit: () => submit({ requester, params: options, replyTo: replyToJson(reply) }),
    });
  });
}
