/**
 * `/compare [model:..] [seed:..] [steps:..] [label:..] [guidance:..]`: one seed through every installed
 * sampler side by side (src/engine/compare.ts plans it, src/jobs/compare.ts queues the runs), the table
 * of steps and seconds in a channel message, each run's image in its thread.
 */
import type { App } from '@slack/bolt';
import { comparisonTitle, planComparison } from '../../../engine/compare.ts';
import type { SlackDeps } from '../context.ts';
import { slackRequester } from '../context.ts';
import { comparisonTarget, tableText } from '../comparison.ts';
import { slackErrorCode } from '../delivery.ts';
import { reportError } from '../gesture.ts';
import { parseCompareText } from '../options.ts';
import { commandReplyTo, parseOrAnswer } from './slash.ts';

export const COMPARE_COMMAND = '/compare';

export function registerCompareCommand(app: App, deps: SlackDeps): void {
  // Planned in the ack: a step count some sampler cannot take is refused before anything is posted.
  const plan = (text: string) => {
    const options = parseCompareText(text);
    const installed = deps.catalog.samplers.list().map((p) => p.name);
    return options && planComparison((params) => deps.service.checkGeneration(params), installed, options);
  };
  app.command(COMPARE_COMMAND, async ({ command, ack, respond, client }) => {
    const runs = await parseOrAnswer(command.text, plan, ack, deps);
    if (runs === null) return;
    const reply = commandReplyTo(command);
    if (!deps.guard.firstDelivery(reply.dedupeKey)) return;
    const notify = async (text: string) => {
      await respond({ response_type: 'ephemeral', text });
    };
    let ts: string | undefined;
    const openTable = async () => {
      try {
        ts = (await client.chat.postMessage({ channel: command.channel_id, text: tableText(command.user_id, comparisonTitle(runs[0]!), []) })).ts;
      } catch (error) {
        await notify(`I cannot post in this channel (${slackErrorCode(error)}). Invite me (\`/invite @ddpm-bot\`) and try again.`);
        return null;
      }
      return ts ? comparisonTarget({ reply, ts }) : null;
    };
    try {
      // Stored before its table is posted, under the command's trigger: Slack may deliver the command again,
      // to another process, and only one of them posts a table. A restarted bot finishes it (src/jobs/comparisons.ts).
      const started = await deps.comparisons.begin(slackRequester(command.team_id, command.channel_id, command.user_id), runs, reply.dedupeKey, openTable);
      if (!started) deps.logger.info({ key: reply.dedupeKey }, 'slack: repeated /compare delivery ignored');
    } catch (error) {
      // Not stored, or its table not recorded (the database is unreachable): nothing would fill a posted table in, so it goes.
      if (ts) await client.chat.delete({ channel: command.channel_id, ts }).catch(() => undefined);
      await reportError(deps, notify, error);
    }
  });
}
