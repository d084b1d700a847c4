/**
 * Interpolate with…: the button answers the clicker privately with a menu of their own finished
 * generations this result can morph into (interpolate-between.ts decides which); picking one queues the
 * interpolation from this result's seed (an inversion's: its image's x_T) to that one's, answered where the
 * result is.
 */
import type { App, BlockAction, StaticSelectAction } from '@slack/bolt';
import { interpolationPartners } from '../../../jobs/interpolate-between.ts';
import { INTERPOLATE_WITH_ACTION } from '../delivery.ts';
import type { SlackDeps } from '../context.ts';
import { describeParams } from '../text.ts';
import { resolveClick, runClick } from './result-action.ts';

export const INTERPOLATE_PICK_ACTION = 'interpolate_pick';
/** How far back the menu looks in the user's history; Slack shows at most 100 options. */
const RECENT = 50;

export function registerInterpolateWithAction(app: App, deps: SlackDeps): void {
  app.action({ action_id: INTERPOLATE_WITH_ACTION, type: 'block_actions' }, async ({ ack, body, action, client }) => {
    await ack();
    if (action.type !== 'button') return;
    const click = await resolveClick(deps, client, body, action, 'interpolate_with');
    if (!click) return;
    const { original } = click;
    const partners = interpolationPartners(await deps.service.listRecentRequests(click.requester, RECENT), original);
    if (partners.length === 0) {
      const label = original.label === null ? '' : ` with label ${original.label}`;
      await click.notify(`You have no other finished /generate result of ${original.model}${label} to interpolate with. Generate one, then click again.`);
      return;
    }
    const what = original.kind === 'invert' ? 'your inverted image' : `seed ${original.seed}`;
    await client.chat.postEphemeral({
      channel: click.reply.channel,
      user: click.reply.userId,
      ...(click.reply.threadTs ? { thread_ts: click.reply.threadTs } : {}),
      text: `Morph ${what} into which of your images?`,
      blocks: [
        {
          type: 'actions',
          // The request to start from rides in the block id; each option's value is the one to end at.
          block_id: `interpolate_from:${original.id}`,
          elements: [
            {
              type: 'static_select',
              action_id: INTERPOLATE_PICK_ACTION,
              placeholder: { type: 'plain_text', text: `Morph ${what} into…` },
              options: partners.map((p) => ({ text: { type: 'plain_text', text: describeParams(p).replace(/`/g, '').slice(0, 75) }, value: p.id })),
            },
          ],
        },
      ],
    });
  });

  app.action({ action_id: INTERPOLATE_PICK_ACTION, type: 'block_actions' }, async ({ ack, body, action, client, context }) => {
    await ack();
    if (action.type !== 'static_select') return;
    const from = /^interpolate_from:(.+)$/.exec(action.block_id)?.[1] ?? '';
    const pick = action as StaticSelectAction;
    const click = await resolveClick(deps, client, body as BlockAction, { value: from, action_ts: pick.action_ts }, 'interpolate_pick');
    if (!click) return;
    await runClick(deps, click, context.retryNum, `<@${click.reply.userId}> interpolation from \`${from}\` to \`${pick.selected_option.value}\``, (replyTo) =>
      deps.service.submitInterpolationBetween({ requester: click.requester, from, to: pick.selected_option.value, replyTo }),
    );
  });
}
