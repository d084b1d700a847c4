/** Vary buttons (`vary:<image index>`, the request in the value): variations of that image at the engine's default strength. */
import type { App } from '@slack/bolt';
import { VARY_ACTION } from '../delivery.ts';
import type { SlackDeps } from '../context.ts';
import { resolveClick, runClick } from './result-action.ts';

const ACTION_ID = new RegExp(`^${VARY_ACTION}:(\\d{1,2})$`);

export function registerVaryAction(app: App, deps: SlackDeps): void {
  app.action({ action_id: ACTION_ID, type: 'block_actions' }, async ({ ack, body, action, client, context }) => {
    await ack();
    if (action.type !== 'button') return;
    const index = Number(ACTION_ID.exec(action.action_id)![1]);
    const click = await resolveClick(deps, client, body, action, 'vary');
    if (!click) return;
    await runClick(deps, click, context.retryNum, `<@${click.reply.userId}> variation of image ${index + 1} of \`${click.original.id}\``, (replyTo) =>
      deps.service.submitVariation({ requester: click.requester, source: { requestId: click.original.id, index }, params: {}, replyTo }),
    );
  });
}
