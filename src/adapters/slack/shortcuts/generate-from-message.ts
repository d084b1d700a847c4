/** Message shortcut "Generate an image": ack, then open the modal with a seed derived from the message. */
import type { App } from '@slack/bolt';
import type { SlackDeps } from '../context.ts';
import { generateModal } from '../modal.ts';
import { messageSeed } from '../seed.ts';

export const GENERATE_SHORTCUT = 'generate_from_message';

export function registerGenerateShortcut(app: App, deps: SlackDeps): void {
  app.shortcut({ callback_id: GENERATE_SHORTCUT, type: 'message_action' }, async ({ shortcut, ack, client }) => {
    await ack();
    // A retried delivery must not open a second modal (its trigger_id is the same).
    if (!deps.guard.firstDelivery(`shortcut:${shortcut.trigger_id}`)) return;
    const messageTs = shortcut.message.ts;
    const threadTs = typeof shortcut.message['thread_ts'] === 'string' ? shortcut.message['thread_ts'] : messageTs;
    const seed = messageSeed(shortcut.channel.id, messageTs);
    try {
      await client.views.open({
        trigger_id: shortcut.trigger_id,
        view: generateModal(deps.catalog, seed, { channel: shortcut.channel.id, messageTs, threadTs }),
      });
    } catch (error) {
      deps.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'slack: views.open failed');
    }
  });
}
