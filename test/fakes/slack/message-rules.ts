/**
 * The content checks Slack makes on chat.postMessage and chat.update, for the fake Slack API: a
 * message the real API would refuse must fail in tests too.
 */

/** Block types the adapter may send, and the Block Kit limits Slack enforces on them. */
const BLOCK_TYPES = new Set(['section', 'context', 'actions', 'divider', 'header', 'image']);

/**
 * What Slack answers a chat.postMessage / chat.update whose content is unusable: `no_text` without
 * text or blocks, `invalid_blocks` for blocks Slack would refuse (not an array, over 50, an unknown
 * type, a section without text (or fields) or with text over 3,000 characters, an actions block without elements).
 */
export function messageError(args: Record<string, unknown>): string | null {
  const blocks = args['blocks'];
  if (blocks === undefined) return typeof args['text'] === 'string' && args['text'] !== '' ? null : 'no_text';
  if (!Array.isArray(blocks) || blocks.length > 50) return 'invalid_blocks';
  for (const block of blocks as Record<string, unknown>[]) {
    if (!BLOCK_TYPES.has(String(block?.['type']))) return 'invalid_blocks';
    const text = (block['text'] as { text?: unknown } | undefined)?.text;
    if (block['type'] === 'section' && !block['fields'] && (typeof text !== 'string' || text.length === 0 || text.length > 3000)) return 'invalid_blocks';
    if (block['type'] === 'actions' && (!Array.isArray(block['elements']) || block['elements'].length === 0)) return 'invalid_blocks';
  }
  return null;
}
