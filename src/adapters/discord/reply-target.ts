/**
 * Where a request's answer goes, stored with the request (the service's `replyTo` jsonb) so that a
 * restarted bot can still edit the user's "thinking…" message: interaction webhooks only need the
 * application id and the interaction token, not the live interaction object. After the token's
 * 15 minutes the answer goes to the channel instead, mentioning the requester once.
 */
import type { APIActionRowComponent, APIAllowedMentions, APIComponentInMessageActionRow, APIEmbed, REST } from 'discord.js';
import { DiscordAPIError, Routes } from 'discord.js';
import { z } from 'zod';
import type { Json } from '../../jobs/service.ts';

/** Discord's lifetime of an interaction token. */
export const INTERACTION_TOKEN_TTL_MS = 15 * 60_000;

/** What the finished request should be rendered as. */
export const replyPurposeSchema = z.enum(['generate', 'noise_demo', 'animation']);
export type ReplyPurpose = z.infer<typeof replyPurposeSchema>;

export const replyTargetSchema = z.object({
  v: z.literal(1),
  applicationId: z.string(),
  interactionToken: z.string(),
  /** Epoch ms when the token stops working; safety margins are applied where it is used. */
  tokenExpiresAt: z.number(),
  channelId: z.string().nullable(),
  userId: z.string(),
  purpose: replyPurposeSchema,
  /** For `animation`: the request whose denoising is being shown. */
  sourceRequestId: z.string().optional(),
  /** A follow-up message of the interaction to edit instead of its original response (one run of /compare). */
  messageId: z.string().optional(),
  /** One run of /compare: the service recognises a second submission of it by this key. */
  dedupeKey: z.string().optional(),
});
export type ReplyTarget = z.infer<typeof replyTargetSchema>;

export function replyTargetJson(target: ReplyTarget): Json {
  return { ...target };
}

/** The stored target of a request, or null when it was not made by this adapter (or is malformed). */
export function parseReplyTarget(value: Json): ReplyTarget | null {
  const parsed = replyTargetSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

export interface OutgoingFile {
  readonly name: string;
  readonly data: Buffer;
  readonly contentType: string;
}

/** A message body in Discord's JSON shapes, plus files uploaded with it. */
export interface OutgoingMessage {
  readonly content?: string;
  readonly embeds?: APIEmbed[];
  readonly components?: APIActionRowComponent<APIComponentInMessageActionRow>[];
  readonly files?: readonly OutgoingFile[];
  readonly allowedMentions?: APIAllowedMentions;
}

/** Nobody is pinged by edits and previews; only the late channel delivery mentions the requester. */
const NO_MENTIONS: APIAllowedMentions = { parse: [] };

function requestBody(message: OutgoingMessage) {
  const files = message.files ?? [];
  return {
    body: {
      ...(message.content !== undefined ? { content: message.content } : {}),
      ...(message.embeds !== undefined ? { embeds: message.embeds } : {}),
      ...(message.components !== undefined ? { components: message.components } : {}),
      allowed_mentions: message.allowedMentions ?? NO_MENTIONS,
      // Listing the attachments replaces the previous ones (an edit's old preview disappears).
      attachments: files.map((file, index) => ({ id: index, filename: file.name })),
    },
    files: files.map((file) => ({ name: file.name, data: file.data, contentType: file.contentType })),
  };
}

/** Discord errors that mean "this interaction token cannot be used any more". */
export function isTokenGone(error: unknown): boolean {
  return error instanceof DiscordAPIError && (error.code === 50027 || error.code === 10015 || error.status === 401);
}

/** How replies reach Discord; the delivery logic depends on this, not on discord.js's REST client. */
export interface Messenger {
  tokenUsable(target: ReplyTarget, marginMs?: number): boolean;
  editOriginal(target: ReplyTarget, message: OutgoingMessage): Promise<void>;
  /** A new message of the interaction (its token's webhook); returns the message's id. */
  followUp(target: ReplyTarget, message: OutgoingMessage): Promise<string>;
  sendToChannel(channelId: string, message: OutgoingMessage): Promise<void>;
}

export class DiscordMessenger implements Messenger {
  constructor(
    private readonly rest: REST,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether the interaction token is still good for at least `marginMs`. */
  tokenUsable(target: ReplyTarget, marginMs = 1_000): boolean {
    return target.tokenExpiresAt - this.now() > marginMs;
  }

  async editOriginal(target: ReplyTarget, message: OutgoingMessage): Promise<void> {
    await this.rest.patch(Routes.webhookMessage(target.applicationId, target.interactionToken, target.messageId ?? '@original'), {
      ...requestBody(message),
      auth: false,
    });
  }

  async followUp(target: ReplyTarget, message: OutgoingMessage): Promise<string> {
    // wait=true: Discord answers with the message, whose id later edits need.
    const created = (await this.rest.post(Routes.webhook(target.applicationId, target.interactionToken), {
      ...requestBody(message),
      query: new URLSearchParams({ wait: 'true' }),
      auth: false,
    })) as { id: string };
    return created.id;
  }

  async sendToChannel(channelId: string, message: OutgoingMessage): Promise<void> {
    await this.rest.post(Routes.channelMessages(channelId), requestBody(message));
  }
}
