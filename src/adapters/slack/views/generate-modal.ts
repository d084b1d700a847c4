/**
 * Submission of the "Generate an image" modal: fields are checked before the modal closes (errors
 * appear next to the field), then the request is submitted and answered in the message's thread.
 */
import type { App } from '@slack/bolt';
import { ValidationError } from '../../../engine/index.ts';
import type { SlackDeps } from '../context.ts';
import type { SlackReplyTo } from '../reply-to.ts';
import { slackRequester } from '../context.ts';
import { replyToJson } from '../reply-to.ts';
import { ephemeral, runGesture } from '../gesture.ts';
import type { ModalField } from '../modal.ts';
import { FIELDS, GENERATE_MODAL, modalMetadataSchema, parseModalState } from '../modal.ts';

export function registerGenerateModal(app: App, deps: SlackDeps): void {
  app.view({ callback_id: GENERATE_MODAL, type: 'view_submission' }, async ({ view, body, ack, client, context }) => {
    const metadata = modalMetadataSchema.safeParse(safeJson(view.private_metadata));
    if (!metadata.success) {
      await ack({ response_action: 'errors', errors: { model: 'This form is out of date; open it again from the message.' } });
      return;
    }
    const parsed = parseModalState(view.state.values);
    if ('errors' in parsed) {
      await ack({ response_action: 'errors', errors: parsed.errors });
      return;
    }
    try {
      deps.engine.validate(parsed.params);
    } catch (error) {
      if (error instanceof ValidationError) {
        const field = (FIELDS as readonly string[]).includes(error.field) ? (error.field as ModalField) : 'steps';
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
