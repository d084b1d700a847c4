/**
 * Where a Slack request's results go, stored with the request (jsonb) so that any bot process can
 * deliver them. A module of its own because both the listeners' context and the delivery read it.
 */
import { z } from 'zod';
import type { Json } from '../../jobs/types.ts';

export const replyToSchema = z.object({
  platform: z.literal('slack'),
  teamId: z.string().nullable(),
  channel: z.string(),
  /** Post status and results in this thread; null = top level of the channel. */
  threadTs: z.string().nullable(),
  userId: z.string(),
  /** Identifies the Slack delivery that caused the request, so a retried delivery is recognised. */
  dedupeKey: z.string(),
  /** 'animation': a replay whose result is the denoising GIF (Animation button). */
  purpose: z.enum(['result', 'animation']).default('result'),
  /** The request an animation replays. */
  sourceRequestId: z.string().optional(),
  /**
   * The status message once posted (added by the delivery, not the gesture), with its first line: a
   * restarted bot edits this message instead of leaving its last progress line behind.
   */
  status: z.object({ ts: z.string(), title: z.string() }).optional(),
});
export type SlackReplyTo = z.input<typeof replyToSchema>;
export type ParsedReplyTo = z.output<typeof replyToSchema>;

export function replyToJson(r: SlackReplyTo): Json {
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as Json;
}

export function parseReplyTo(value: Json): ParsedReplyTo | null {
  const parsed = replyToSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

