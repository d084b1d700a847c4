import { createHash } from 'node:crypto';

/**
 * The seed a message suggests: the first 32 bits of sha256("channel:ts"). The same message always
 * suggests the same seed (in every process, after restarts), different messages almost never collide.
 */
export function messageSeed(channelId: string, messageTs: string): number {
  return createHash('sha256').update(`${channelId}:${messageTs}`).digest().readUInt32BE(0);
}
