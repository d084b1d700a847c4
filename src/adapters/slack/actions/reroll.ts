/** Reroll button: the same parameters with a fresh seed (service.reroll), answered in the same place. */
import type { App } from '@slack/bolt';
import { REROLL_ACTION } from '../delivery.ts';
import type { SlackDeps } from '../context.ts';
import { resolveClick, runClick } from './result-action.ts';

export function registerRerollAction(app: App, deps: SlackDeps): void {
  app.action({ action_id: REROLL_ACTION, type: 'block_actions' }, async ({ ack, body, action, client, context }) => {
    await ack();
    if (action.type !== 'button') return;
    const click = await resolveClick(deps, client, body, action, 'reroll');
    if (!click) return;
    await runClick(deps, click, context.retryNum, `<@${click.reply.userId}> reroll of \`${click.original.id}\``, (replyTo) => deps.service.reroll(click.original.id, click.requester, replyTo));
  });
}
