/**
 * Vary buttons (`vary:<image index>`, optionally `:subtle` or `:strong`; the request in the value): variations
 * of that image at the engine's default strength, or at the preset's.
 */
import type { App } from '@slack/bolt';
import { VARY_PRESETS, type VaryPreset } from '../../../engine/edit-params.ts';
import { VARY_ACTION } from '../delivery.ts';
import type { SlackDeps } from '../context.ts';
import { resolveClick, runClick } from './result-action.ts';

const ACTION_ID = new RegExp(`^${VARY_ACTION}:(\\d{1,2})(?::(subtle|strong))?$`);

export function registerVaryAction(app: App, deps: SlackDeps): void {
  app.action({ action_id: ACTION_ID, type: 'block_actions' }, async ({ ack, body, action, client, context }) => {
    await ack();
    if (action.type !== 'button') return;
    const match = ACTION_ID.exec(action.action_id)!;
    const index = Number(match[1]);
    // The pattern admits only the presets' names.
    const preset = match[2] as VaryPreset | undefined;
    const click = await resolveClick(deps, client, body, action, 'vary');
    if (!click) return;
    const params = preset === undefined ? {} : { strength: VARY_PRESETS[preset] };
    const how = preset === undefined ? '' : ` (${preset})`;
    await runClick(deps, click, context.retryNum, `<@${click.reply.userId}> variation${how} of image ${index + 1} of \`${click.original.id}\``, (replyTo) =>
      deps.service.submitVariation({ requester: click.requester, source: { requestId: click.original.id, index }, params, replyTo }),
    );
  });
}
