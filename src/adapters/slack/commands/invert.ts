/**
 * `/invert [steps:..] [model:..] [sampler:..] [label:..] [guidance:..]`: DDIM inversion (DDIM paper section
 * 5.4) of the last image the user shared in the channel: its x_T, decoded back, uploaded beside the source
 * with the reconstruction's PSNR; Vary and Interpolate with… under it start from that image.
 */
import type { App } from '@slack/bolt';
import type { SlackDeps } from '../context.ts';
import { slackRequester } from '../context.ts';
import type { SharedImage } from '../files.ts';
import { userImage } from '../files.ts';
import { runGesture } from '../gesture.ts';
import { parseInvertText } from '../options.ts';
import { replyToJson } from '../reply-to.ts';
import { SlackUserError, formatOptions } from '../text.ts';
import { commandReplyTo, parseOrAnswer } from './slash.ts';

export const INVERT_COMMAND = '/invert';

export function registerInvertCommand(app: App, deps: SlackDeps): void {
  app.command(INVERT_COMMAND, async ({ command, ack, respond, context, client }) => {
    const options = await parseOrAnswer(command.text, parseInvertText, ack, deps);
    if (options === null) return;
    const requester = slackRequester(command.team_id, command.channel_id, command.user_id);
    const reply = commandReplyTo(command);
    let image: SharedImage | null = null;
    await runGesture({
      deps,
      requester,
      reply,
      retryNum: context.retryNum,
      title: () => `<@${command.user_id}> \`${[INVERT_COMMAND, formatOptions(options)].filter(Boolean).join(' ')}\` of _${image?.name ?? 'your image'}_`,
      notify: async (text) => {
        await respond({ response_type: 'ephemeral', text });
      },
      submit: async () => {
        image = await userImage(deps, client, command.channel_id, command.user_id);
        if (!image) {
          const minutes = Math.round(deps.env.SLACK_IMAGE_LOOKBACK_SECONDS / 60);
          throw new SlackUserError(`/invert inverts the last image you shared in this channel in the past ${minutes} minutes, and I found none. Share a PNG or JPEG here, then run /invert again.`);
        }
        // The service decodes the upload and refuses a bad one as ValidationError('image') before queueing.
        return deps.service.submitInversion({ requester, source: { image: image.bytes }, params: options, replyTo: replyToJson(reply) });
      },
    });
  });
}
