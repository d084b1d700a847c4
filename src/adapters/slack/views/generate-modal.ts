/**
 * The "Generate an image" modal: choosing a sampler updates the view to that sampler's option fields
 * (views.update); on submission fields are checked before the modal closes (errors appear next to the
 * field or option), then the request is submitted and answered in the message's thread.
 */
import type { App } from '@slack/bolt';
import { ValidationError } from '../../../engine/index.ts';
import type { SlackDeps } from '../context.ts';
import type { SlackReplyTo } from '../reply-to.ts';
import { slackRequester } from '../context.ts';
import { replyToJson } from '../reply-to.ts';
import { ephemeral, runGesture } from '../gesture.ts';
import { FIELDS, GENERATE_MODAL, generateModal, modalMetadataSchema, parseModalState, SAMPLER_BLOCK } from '../modal.ts';
import { optionBlockId } from '../modal-options.ts';
import { messageSeed } from '../seed.ts';

export function registerGenerateModal(app: App, deps: SlackDeps): void {
  app.action({ type: 'block_actions', block_id: SAMPLER_BLOCK, action_id: 'value' }, async ({ ack, body, action, client }) => {
    await ack();
    const view = body.view;
    const metadata = modalMetadataSchema.safeParse(safeJson(view?.private_metadata ?? ''));
    if (!view || view.callback_id !== GENERATE_MODAL || !metadata.success) return;
    const sampler = 'selected_option' in action && action.selected_option ? action.selected_option.value : undefined;
    // The same blocks under the same ids: Slack keeps the values typed so far (seed, steps, label...),
    // and the initial values below only fill inputs that are new (the chosen sampler's option fields).
    const seed = messageSeed(metadata.data.channel, metadata.data.messageTs);
    try {
      // The hash of the view this action saw: if the user changed the sampler again meanwhile, Slack
      // refuses this update (hash_conflict) and the later change's update wins.
      await client.views.update({ view_id: view.id, hash: view.hash, view: generateModal(deps.catalog, seed, metadata.data, sampler) });
    } catch (error) {
      deps.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'slack: views.update failed');
    }
  });

  app.view({ callback_id: GENERATE_MODAL, type: 'view_submission' }, async ({ view, body, ack, client, context }) => {
    const metadata = modalMetadataSchema.safeParse(safeJson(view.private_metadata));
    if (!metadata.success) {
      await ack({ response_action: 'errors', errors: { model: 'This form is out of date; open it again from the message.' } });
      return;
    }
    const parsed = parseModalState(view.state.values, deps.catalog.samplers.list());
    if ('errors' in parsed) {
      await ack({ response_action: 'errors', errors: parsed.errors });
      return;
    }
    try {
      deps.service.checkGeneration(parsed.params);
    } catch (error) {
      if (error instanceof ValidationError) {
        const option = error.field.startsWith('options.') ? optionBlockId(error.field.slice('options.'.length)) : null;
        const field = option && option in view.state.values ? option : (FIELDS as readonly string[]).includes(error.field) ? error.field : 'steps';
        await ack({ response_action: 'errors', errors: { [field]: error.message } });
        return;
      }
      throw error;
    }
    await ack();
    const { channel, threadTs } = metadata.data;
    const user = body.user.id;
    const teamId = body.team?.id ?? null;
    const requester = slackRequester(teamId, channel, user);
    const reply: SlackReplyTo = { platform: 'slack', teamId, channel, threadTs, userId: user, dedupeKey: `view:${view.id}` };
    await runGesture({
      deps,
      requester,
      reply,
      retryNum: context.retryNum,
      title: `<@${user}> generating from a message`,
      notify: ephemeral(client, channel, user, threadTs),
      submit: () => deps.service.submitGeneration({ requester, params: parsed.params, replyTo: replyToJson(reply) }),
    });
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
