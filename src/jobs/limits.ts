/**
 * Admission limits as a pure decision over counts the service reads inside the submit
 * transaction, so the rules are testable without a database and the messages are consistent.
 */
import { RateLimitError } from './types.ts';

export interface LimitConfig {
  readonly concurrentPerUser: number;
  readonly perHour: number;
  readonly queueCap: number;
}

export interface LimitSnapshot {
  /** The user's queued + running requests. */
  readonly userActive: number;
  /** The user's requests created in the last hour. */
  readonly userLastHour: number;
  /** When the oldest of those was created (the hourly window frees a slot an hour after it). */
  readonly oldestInHourAt: Date | null;
  /** Queued requests overall. */
  readonly queued: number;
}

/** Suggested wait when the user has too many running jobs: about one short generation. */
export const CONCURRENT_RETRY_SECONDS = 15;
/** Suggested wait when the whole queue is full. */
export const QUEUE_FULL_RETRY_SECONDS = 60;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function humanDuration(seconds: number): string {
  if (seconds < 90) return plural(seconds, 'second');
  return plural(Math.ceil(seconds / 60), 'minute');
}

/** Returns the RateLimitError to throw, or null when the request may be queued. */
export function checkLimits(snapshot: LimitSnapshot, limits: LimitConfig, now: Date): RateLimitError | null {
  if (snapshot.queued >= limits.queueCap) {
    return new RateLimitError(
      QUEUE_FULL_RETRY_SECONDS,
      'queue_full',
      `The queue is full (${limits.queueCap} requests waiting). Please try again in ${humanDuration(QUEUE_FULL_RETRY_SECONDS)}.`,
    );
  }
  if (snapshot.userActive >= limits.concurrentPerUser) {
    return new RateLimitError(
      CONCURRENT_RETRY_SECONDS,
      'concurrent',
      `You already have ${plural(snapshot.userActive, 'request')} queued or running (limit ${limits.concurrentPerUser}). Try again when one finishes, in about ${humanDuration(CONCURRENT_RETRY_SECONDS)}.`,
    );
  }
  if (snapshot.userLastHour >= limits.perHour) {
    const freesAt = (snapshot.oldestInHourAt ?? now).getTime() + 3_600_000;
    const retryAfter = Math.max(1, Math.ceil((freesAt - now.getTime()) / 1000));
    return new RateLimitError(
      retryAfter,
      'hourly',
      `You have made ${plural(snapshot.userLastHour, 'request')} in the last hour (limit ${limits.perHour}). Try again in ${humanDuration(retryAfter)}.`,
    );
  }
  return null;
}
