/** The app manifest declares exactly what the adapter listens for, at the path it listens on. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMPARE_COMMAND } from '../../../src/adapters/slack/commands/compare.ts';
import { GENERATE_COMMAND } from '../../../src/adapters/slack/commands/generate.ts';
import { INTERPOLATE_COMMAND } from '../../../src/adapters/slack/commands/interpolate.ts';
import { INVERT_COMMAND } from '../../../src/adapters/slack/commands/invert.ts';
import { NOISE_DEMO_COMMAND } from '../../../src/adapters/slack/commands/noise-demo.ts';
import { SLACK_EVENTS_PATH } from '../../../src/adapters/slack/index.ts';
import { GENERATE_SHORTCUT } from '../../../src/adapters/slack/shortcuts/generate-from-message.ts';

const manifest = readFileSync('slack/manifest.yml', 'utf8');

describe('slack/manifest.yml', () => {
  it('declares the commands, the shortcut, the event and the scopes the adapter uses', () => {
    expect(manifest).toContain(`- command: ${GENERATE_COMMAND}\n`);
    expect(manifest).toContain(`- command: ${NOISE_DEMO_COMMAND}\n`);
    expect(manifest).toContain(`- command: ${INTERPOLATE_COMMAND}\n`);
    expect(manifest).toContain(`- command: ${INVERT_COMMAND}\n`);
    expect(manifest).toContain(`- command: ${COMPARE_COMMAND}\n`);
    expect(manifest).toMatch(new RegExp(`type: message\\n\\s+callback_id: ${GENERATE_SHORTCUT}\\n`));
    expect(manifest).toMatch(/bot_events:\n\s+- app_mention\n/);
    for (const scope of ['commands', 'chat:write', 'files:write', 'files:read', 'app_mentions:read']) {
      expect(manifest).toMatch(new RegExp(`\\n\\s+- ${scope}\\n`));
    }
  });

  it('points every URL at the adapter path', () => {
    const urls = [...manifest.matchAll(/(?:url|request_url): (\S+)/g)].map((m) => m[1]!);
    expect(urls).toHaveLength(7);
    for (const url of urls) expect(new URL(url).pathname).toBe(SLACK_EVENTS_PATH);
  });
});
