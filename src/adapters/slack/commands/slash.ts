/** What every slash command does before its own work: parse the text or answer in the ack, and where to reply. */
import type { SlashCommand } from '@slack/bolt';
import type { SlackDeps } from '../context.ts';
import type { SlackReplyTo } from '../reply-to.ts';
import { generateHelp, userMessage } from '../text.ts';

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
