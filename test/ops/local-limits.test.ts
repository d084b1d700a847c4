import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { localLimits } from '../../src/main.ts';
import { loadOpsConfig } from '../../src/ops/config.ts';

describe('hourly limit of a local playground', () => {
  const config = loadConfig({});
  const ops = loadOpsConfig({});

  it('is 600 when only this machine can connect and no chat app runs: the one user is whoever started it', () => {
    expect(config.LIMIT_PER_HOUR).toBe(30);
    expect(localLimits(config, ops, 0, {}).LIMIT_PER_HOUR).toBe(600);
  });

  it('stays as configured when served to other machines, beside a chat app, set explicitly, or without the playground', () => {
    expect(localLimits(config, loadOpsConfig({ HOST: '0.0.0.0' }), 0, {})).toBe(config);
    expect(localLimits(config, ops, 1, {})).toBe(config);
    expect(localLimits(loadConfig({ LIMIT_PER_HOUR: '30' }), ops, 0, { LIMIT_PER_HOUR: '30' }).LIMIT_PER_HOUR).toBe(30);
    expect(localLimits(config, loadOpsConfig({ PLAYGROUND: 'off' }), 0, {})).toBe(config);
    expect(localLimits(loadConfig({ ROLE: 'bot', DATABASE_URL: 'postgresql://x@127.0.0.1/db' }), ops, 0, {}).LIMIT_PER_HOUR).toBe(30);
  });
});
