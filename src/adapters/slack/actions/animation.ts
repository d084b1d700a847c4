/**
 * Animation button: the request is replayed with the same seed and parameters (service.replay), so it
 * follows exactly the same trajectory, and the worker records its predicted x_0 step by step; the
 * result is that GIF, ending on the (identical) final image.
 */
import type { App } from '@slack/bolt';
import { ANIMATION_ACTION } from '../delivery.ts';
import type { SlackDeps } from '../context.ts';
import { replyToJson } from '../reply-to.ts';
import { runGesture } from '../gesture.ts';
import { SlackUserError } from '../text.ts';
import { resolveClick } from './result-action.ts';

export function registerAnimationAction(app: App, deps: SlackDeps): void {
  app.action({ action_id: ANIMATION_ACTION, type: 'block_actions' }, async ({ ack, body, action, client, context }) => {
    await ack();
    if (action.type !== 'button') return;
    const click = await resolveClick(deps, client, body, action, 'animation');
    if (!click) return;
    const { original } = click;
    const reply = { ...click.reply, purpose: 'animation' as const, sourceRequestId: original.id };
    await runGesture({
      deps,
      requester: click.requester,
      reply,
      retryNum: context.retryNum,
      title: `<@${reply.userId}> denoising animation of \`${original.id}\``,
      notify: click.notify,
      submit: async () => {
        if (original.kind !== 'generate') throw new SlackUserError('Only generated images can be animated.');
        return deps.service.replay(original.id, click.requester, replyToJson(reply), { recordTrajectory: true });
      },
    });
  });
}
