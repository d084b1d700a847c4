import { describe, expect, it } from 'vitest';
import { checkLimits } from '../../src/jobs/limits.ts';

const limits = { concurrentPerUser: 2, perHour: 30, queueCap: 100 };
const now = new Date('2026-01-01T12:00:00Z');
const base = { userActive: 0, userLastHour: 0, oldestInHourAt: null, queued: 0 };

describe('checkLimits', () => {
  it('admits within limits', () => {
    expect(checkLimits({ ...base, userActive: 1, userLastHour: 29, queued: 99 }, limits, now)).toBeNull();
  });
  it('refuses a full queue first, with a minute to wait', () => {
    const e = checkLimits({ ...base, queued: 100, userActive: 5 }, limits, now);
    expect(e).toMatchObject({ reason: 'queue_full', retryAfterSeconds: 60 });
  });
  it('refuses too many concurrent jobs', () => {
    const e = checkLimits({ ...base, userActive: 2 }, limits, now);
    expect(e?.reason).toBe('concurrent');
    expect(e?.message).toMatch(/2 requests queued or running \(limit 2\)/);
  });
  it('computes the hourly retry time from the oldest request in the window', () => {
    const oldest = new Date(now.getTime() - 50 * 60_000); // frees a slot in 10 minutes
    const e = checkLimits({ ...base, userLastHour: 30, oldestInHourAt: oldest }, limits, now);
    expect(e).toMatchObject({ reason: 'hourly', retryAfterSeconds: 600 });
    expect(e?.message).toMatch(/Try again in 10 minutes/);
  });
});
