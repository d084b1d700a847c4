/**
 * `/noise-demo [model:..] [seed:..] [timesteps:..] [denoise_from:..]`: the forward process of the user's
 * last shared image, or of a generated one (and, with denoise_from, its reconstruction from x_t).
 */
import type { App } from '@slack/bolt';
import { randomSeed } from '../../../core/rng.ts';
import type { SlackDeps } from '../context.ts';
import { slackRequester } from '../context.ts';
import { replyToJson } from '../reply-to.ts';
import type { SharedImage } from '../files.ts';
import { userImage } from '../files.ts';
import { loadImageForModel } from '../../../render/input.ts';
import { runGesture } from '../gesture.ts';
import { parseNoiseDemoText } from '../options.ts';
import { commandReplyTo, parseOrAnswer } from './slash.ts';

export const NOISE_DEMO_COMMAND = '/noise-demo';

export function registerNoiseDemoCommand(app: App, deps: SlackDeps): void {
  app.command(NOISE_DEMO_COMMAND, async ({ command, ack, respond, context, client }) => {
    const options = await parseOrAnswer(command.text, parseNoiseDemoText, ack, deps);
    if (options === null) return;
    const notify = async (text: string) => {
      await respond({ response_type: 'ephemeral', text });
    };
    const requester = slackRequester(command.team_id, command.channel_id, command.user_id);
    const reply = commandReplyTo(command);
    const params = {
      model: options.model ?? deps.catalog.models.defaultModel()?.name,
      seed: options.seed ?? randomSeed(),
      ...(options.timesteps ? { timesteps: options.timesteps } : {}),
      ...(options.denoise_from !== undefined ? { denoiseFrom: options.denoise_from } : {}),
    };
    let image: SharedImage | null = null;
    await runGesture({
      deps,
      requester,
      reply,
      retryNum: context.retryNum,
      title: () => `<@${command.user_id}> forward process of ${image ? `your image _${image.name}_` : 'a generated image'}`,
      notify,
      submit: async () => {
        image = await userImage(deps, client, command.channel_id, command.user_id);
        // Refuse a bad file now, as an ephemeral message, rather than as a failed job later.
        const manifest = deps.catalog.models.find(params.model ?? '')?.manifest;
        if (image && manifest) await loadImageForModel(image.bytes, manifest.image);
        return deps.service.submitNoiseDemo({ requester, params, image: image?.bytes, replyTo: replyToJson(reply) });
      },
    });
  });
}
