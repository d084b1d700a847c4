/**
 * /compare in Slack: the table is one channel message, edited as the runs finish; each run's status
 * message, then its image with the buttons, goes in that message's thread, delivered like any request.
 * Made from what is stored with the comparison, so that a restarted bot can carry on with it.
 */
import type { webApi } from '@slack/bolt';
import { z } from 'zod';
import type { ComparisonRow } from '../../engine/compare.ts';
import { comparisonTable } from '../../engine/compare.ts';
import type { ComparisonFront } from '../../jobs/compare.ts';
import type { Json } from '../../jobs/types.ts';
import type { SlackDeps } from './context.ts';
import { slackErrorCode } from './delivery.ts';
import type { SlackReplyTo } from './reply-to.ts';
import { replyToJson, replyToSchema } from './reply-to.ts';

/** The table's message: the command's reply target (channel, user, its gesture's dedupe key) and the posted message. */
export interface ComparisonTable {
  readonly reply: SlackReplyTo;
  readonly ts: string;
}

const tableSchema = z.object({ reply: replyToSchema, ts: z.string() });

export function comparisonTarget(table: ComparisonTable): Json {
  return { reply: replyToJson(table.reply), ts: table.ts };
}

/** The front for a stored target; null when it is not Slack's. */
export function comparisonFrontOf(deps: SlackDeps, client: webApi.WebClient, target: Json): ComparisonFront | null {
  const parsed = tableSchema.safeParse(target);
  return parsed.success ? slackComparisonFront(deps, client, parsed.data) : null;
}

export function tableText(userId: string, title: string, rows: readonly ComparisonRow[]): string {
  const table = rows.length > 0 ? `\n\`\`\`\n${comparisonTable(rows).join('\n')}\n\`\`\`` : '';
  return `<@${userId}> \`/compare\` ${title}${table}`;
}

export function slackComparisonFront(deps: SlackDeps, client: webApi.WebClient, { reply, ts }: ComparisonTable): ComparisonFront {
  return {
    table: async (title, rows) => {
      // A lost edit of the table is not worth stopping the runs for; the next one shows the rows again.
      await client.chat.update({ channel: reply.channel, ts, text: tableText(reply.userId, title, rows) }).catch((error: unknown) => {
        deps.logger.warn({ channel: reply.channel, ts, error: slackErrorCode(error) }, 'slack: could not update the comparison table');
      });
    },
    // The run's status message is posted by the delivery once it is submitted, so there is nothing to make yet.
    openRun: async (_params, index) => replyToJson({ ...reply, threadTs: ts, dedupeKey: `${reply.dedupeKey}:${index}` }),
    submitted: async (params, submitted, replyTo) => {
      const title = `<@${reply.userId}> \`/compare\` ${params.sampler}, ${params.steps} steps`;
      deps.delivery.track(submitted.id, replyToSchema.parse(replyTo), { title, position: submitted.position });
    },
    // A run has no message of its own until it is submitted: the table's row says why it did not run.
    notRun: async () => undefined,
  };
}
