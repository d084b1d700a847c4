/**
 * Discord's side of delivery (the rules are src/delivery's): a request's status is the user's
 * "thinking…" message, edited through the stored interaction token with the queue position and
 * live previews; the final reply edits it too, or goes to the channel with one mention once the
 * token has expired. Everything needed lives in the request's stored reply target, so any bot
 * process can do this, also after a restart.
 */
import { DeliveryEngine } from '../../delivery/engine.ts';
import type { Conversation, LiveEvent, Messenger as DeliveryMessenger } from '../../delivery/messenger.ts';
import type { GenerationService, RequestView } from '../../jobs/service.ts';
import { DISPLAY_MIN_SIDE, upscalePng } from '../../render/index.ts';
import { loggableError } from './errors.ts';
import { paramsLine, progressMessage, queuedMessage, runningMessage, tokenExpiringMessage, undeliverableMessage } from './messages.ts';
import type { Messenger, OutgoingMessage, ReplyTarget } from './reply-target.ts';
import { isTokenGone, parseReplyTarget } from './reply-target.ts';
import { renderFinal } from './results.ts';
import type { Catalog } from '../../engine/catalog.ts';
import type { AdapterTuning } from './types.ts';
import type { Logger } from '../../ops/logger.ts';

/** What a status line is made of: the parameters a request was submitted with. */
export type StatusParams = Pick<RequestView, 'model' | 'label' | 'guidance' | 'sampler' | 'steps' | 'options' | 'seed' | 'count' | 'kind' | 'variation' | 'interpolation' | 'inversion'>;

export interface DeliveryDeps {
  readonly service: GenerationService;
  readonly catalog: Catalog;
  readonly messenger: Messenger;
  readonly logger: Logger;
  readonly tuning: AdapterTuning;
}

/** The user's original interaction response, edited while its token lasts. */
class InteractionMessage implements Conversation {
  readonly liveUntil: number | null;
  /** After the token's last minute (or once Discord refused it) nothing but the final reply is sent. */
  private liveOver: boolean;

  constructor(
    private readonly requestId: string,
    private readonly target: ReplyTarget,
    private readonly summary: string,
    private readonly deps: DeliveryDeps,
  ) {
    const usable = deps.messenger.tokenUsable(target);
    this.liveOver = !usable;
    this.liveUntil = usable ? target.tokenExpiresAt - deps.tuning.expiryNoticeLeadMs : null;
  }

  async showStatus(event: LiveEvent): Promise<void> {
    if (this.liveOver) return;
    await this.edit(await this.liveMessage(event));
  }

  async liveEnding(): Promise<void> {
    if (this.liveOver) return;
    this.liveOver = true;
    await this.edit(tokenExpiringMessage(this.summary));
  }

  /** Nothing to tidy: the process that won the claim edits this same message. */
  async superseded(): Promise<void> {}

  private async liveMessage(event: LiveEvent): Promise<OutgoingMessage> {
    switch (event.type) {
      case 'queued':
        return queuedMessage(event.position, this.summary);
      case 'running':
        return runningMessage(this.summary);
      case 'progress': {
        // Enlarged like the result: a 28x28 preview would be a blur in the chat client.
        const preview = event.previewPng ? await upscalePng(event.previewPng, DISPLAY_MIN_SIDE).catch(() => event.previewPng) : null;
        return progressMessage(event.step, event.totalSteps, this.summary, preview);
      }
    }
  }

  private async edit(message: OutgoingMessage): Promise<void> {
    if (!this.deps.messenger.tokenUsable(this.target)) return;
    try {
      await this.deps.messenger.editOriginal(this.target, message);
    } catch (error) {
      // A preview that fails is not worth more than a log line; the final reply has its own fallbacks.
      if (isTokenGone(error)) this.liveOver = true;
      this.deps.logger.warn({ err: loggableError(error), requestId: this.requestId }, 'could not update the Discord message');
    }
  }
}

class DiscordReplies implements DeliveryMessenger<ReplyTarget, StatusParams, InteractionMessage> {
  readonly platform = 'discord' as const;

  constructor(private readonly deps: DeliveryDeps) {}

  readTarget = parseReplyTarget;

  open(requestId: string, target: ReplyTarget, params: StatusParams): InteractionMessage {
    const summary = params.kind === 'noise_demo' ? `noise demo · ${params.model} · seed ${params.seed}` : paramsLine(params);
    return new InteractionMessage(requestId, target, summary, this.deps);
  }

  /** The stored token still reaches the message, so a restarted bot picks up the live updates. */
  reattach(view: RequestView): StatusParams {
    return view;
  }

  async deliver(view: RequestView, target: ReplyTarget): Promise<void> {
    let message: OutgoingMessage;
    try {
      message = await renderFinal(this.deps.service, this.deps.catalog, view, target);
    } catch (error) {
      // The claim is spent: whatever happens, the user must not be left with a stale preview.
      this.deps.logger.error({ err: loggableError(error), requestId: view.id }, 'could not render a finished request');
      message = undeliverableMessage(view);
    }
    const { messenger } = this.deps;
    if (messenger.tokenUsable(target)) {
      try {
        await messenger.editOriginal(target, message);
        return;
      } catch (error) {
        if (!isTokenGone(error)) throw error;
        this.deps.logger.info({ requestId: view.id }, 'interaction token gone; delivering to the channel');
      }
    }
    if (!target.channelId) throw new Error(`request ${view.id} outlived its interaction token and has no channel to post in`);
    // The one mention of the request's life: the user may have left the conversation by now.
    const what = view.kind === 'noise_demo' ? 'noise demo' : target.purpose === 'animation' ? 'animation' : 'image';
    await messenger.sendToChannel(target.channelId, {
      ...message,
      content: `<@${target.userId}> your ${what} is ready${message.content ? `\n${message.content}` : ''}`,
      allowedMentions: { users: [target.userId] },
    });
  }
}

export type DiscordDelivery = DeliveryEngine<ReplyTarget, StatusParams, InteractionMessage>;

export function discordDelivery(deps: DeliveryDeps): DiscordDelivery {
  return new DeliveryEngine(deps.service, new DiscordReplies(deps), deps.logger, {
    ...deps.tuning.delivery,
    statusIntervalMs: deps.tuning.previewIntervalMs,
  });
}
