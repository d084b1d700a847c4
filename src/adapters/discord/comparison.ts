/**
 * How a /compare shows in Discord, from what is stored with the comparison (the interaction's token and a
 * key for its runs), so that a restarted bot can carry on with it.
 */
import { z } from 'zod';
import { comparisonTable } from '../../engine/compare.ts';
import type { ComparisonFront } from '../../jobs/compare.ts';
import type { Json } from '../../jobs/types.ts';
import type { AdapterContext } from './context.ts';
import { loggableError } from './errors.ts';
import { clip } from './messages.ts';
import type { ReplyTarget } from './reply-target.ts';
import { parseReplyTarget, replyTargetJson, replyTargetSchema } from './reply-target.ts';

/** The table is the interaction's own message; `key` prefixes each run's dedupe key. */
const targetSchema = z.object({ table: replyTargetSchema, key: z.string() });

export function comparisonTarget(table: ReplyTarget, key: string): Json {
  return { table: replyTargetJson(table), key };
}

/** The front for a stored target; null when it is not Discord's. */
export function comparisonFrontOf(ctx: AdapterContext, target: Json): ComparisonFront | null {
  const parsed = targetSchema.safeParse(target);
  return parsed.success ? comparisonFront(ctx, parsed.data.table, parsed.data.key) : null;
}

/**
 * The comparison in Discord: the interaction's own message is the table; each run is a follow-up made
 * through the interaction's token (so a restarted bot can make them too), which the delivery engine
 * answers like a /generate reply.
 */
export function comparisonFront(ctx: AdapterContext, table: ReplyTarget, key: string): ComparisonFront {
  /** Edits while the token lasts; a lost edit is logged, not worth stopping the runs for (the next edit shows the rows again). */
  const edit = async (target: ReplyTarget, content: string) => {
    if (!ctx.messenger.tokenUsable(target)) return;
    await ctx.messenger.editOriginal(target, { content: clip(content, 2000) }).catch((error: unknown) => ctx.logger.warn({ err: loggableError(error), messageId: target.messageId ?? '@original' }, 'discord: could not edit a /compare message'));
  };
  return {
    // The table is edited first: a follow-up sent while "thinking…" would replace it.
    table: (title, rows) => edit(table, `Compare: ${title}\n\`\`\`\n${comparisonTable(rows).join('\n')}\n\`\`\``),
    openRun: async (params, index) => {
      const messageId = await ctx.messenger.followUp(table, { content: `${params.sampler}, ${params.steps} steps: waiting for its turn` });
      return replyTargetJson({ ...table, messageId, dedupeKey: `${key}:${index}` });
    },
    submitted: async (_params, submitted, replyTo) => {
      const view = await ctx.service.getRequest(submitted.id);
      const target = parseReplyTarget(replyTo);
      if (view && target) ctx.deliveries.track(submitted.id, target, view);
    },
    notRun: async (params, replyTo, reason) => {
      const target = parseReplyTarget(replyTo);
      if (target) await edit(target, `${params.sampler}, ${params.steps} steps: not run: ${reason}`);
    },
  };
}

