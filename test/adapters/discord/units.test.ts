/** The adapter's small pure pieces: env validation, custom ids, the attachment URL policy, option parsing, label choices. */
import { describe, expect, it } from 'vitest';
import { isAllowedAttachmentUrl } from '../../../src/adapters/discord/attachments.ts';
import { labelChoices } from '../../../src/adapters/discord/commands/generate.ts';
import { parseTimesteps } from '../../../src/adapters/discord/commands/noise-demo.ts';
import { DiscordConfigError, allowedAttachmentOrigins, loadDiscordEnv } from '../../../src/adapters/discord/config.ts';
import { componentId, parseComponentId } from '../../../src/adapters/discord/custom-id.ts';
import { parseReplayChoice } from '../../../src/adapters/discord/result-rows.ts';
import { parseReplyTarget } from '../../../src/adapters/discord/reply-target.ts';
import { readManifest } from '../../../src/model/manifest.ts';
import { ModelRegistry } from '../../../src/model/registry.ts';

describe('Discord env', () => {
  it('names every missing or malformed variable', () => {
    expect(() => loadDiscordEnv({ DISCORD_APPLICATION_ID: 'abc', DISCORD_API_BASE: 'not a url' })).toThrowError(DiscordConfigError);
    try {
      loadDiscordEnv({ DISCORD_APPLICATION_ID: 'abc', DISCORD_API_BASE: 'not a url' });
    } catch (error) {
      expect(String(error)).toMatch(/DISCORD_TOKEN: is required/);
      expect(String(error)).toMatch(/DISCORD_APPLICATION_ID: must be a Discord id/);
      expect(String(error)).toMatch(/DISCORD_API_BASE: Invalid url/);
    }
  });

  it('accepts a minimal configuration and ignores empty optional values', () => {
    expect(loadDiscordEnv({ DISCORD_TOKEN: 't', DISCORD_APPLICATION_ID: '123456789012345678', DISCORD_GUILD_ID: '' })).toEqual({
      DISCORD_TOKEN: 't',
      DISCORD_APPLICATION_ID: '123456789012345678',
    });
  });
});

describe('custom ids', () => {
  it('round-trip the action and request id, and reject foreign ids', () => {
    const id = 'a3c1e9a2-1111-4222-8333-944455556666';
    expect(parseComponentId(componentId('reroll', id))).toEqual({ action: 'reroll', requestId: id, index: null });
    expect(parseComponentId(componentId('vary', id, 3))).toEqual({ action: 'vary', requestId: id, index: 3 });
    // The longest custom id a result carries stays within Discord's 100 characters.
    const strong = componentId('vary-strong', id, 15);
    expect(strong.length).toBeLessThanOrEqual(100);
    expect(parseComponentId(strong)).toEqual({ action: 'vary-strong', requestId: id, index: 15 });
    expect(parseComponentId(`ddpm:vary-subtle:${id}:0`)).toEqual({ action: 'vary-subtle', requestId: id, index: 0 });
    expect(parseComponentId(`ddpm:vary-medium:${id}:0`)).toBeNull();
    expect(parseComponentId('ddpm:explode:x')).toBeNull();
    expect(parseComponentId('other:reroll:x')).toBeNull();
    expect(parseComponentId('ddpm:reroll:x:y')).toBeNull();
  });

  it('replay choices parse as sampler and steps', () => {
    expect(parseReplayChoice('dpm-solver:20')).toEqual({ sampler: 'dpm-solver', steps: 20 });
    expect(parseReplayChoice('ddim')).toBeNull();
  });
});

describe('attachment URL policy', () => {
  const policy = allowedAttachmentOrigins(loadDiscordEnv({ DISCORD_TOKEN: 't', DISCORD_APPLICATION_ID: '123456789012345678', DISCORD_API_BASE: 'http://127.0.0.1:4567/api' }));

  it('allows Discord’s CDN over https and the configured API origin only', () => {
    expect(isAllowedAttachmentUrl('https://cdn.discordapp.com/attachments/1/2/a.png?ex=1', policy)).toBe(true);
    expect(isAllowedAttachmentUrl('https://media.discordapp.net/attachments/1/2/a.png', policy)).toBe(true);
    expect(isAllowedAttachmentUrl('http://127.0.0.1:4567/attachments/1/a.png', policy)).toBe(true);
    expect(isAllowedAttachmentUrl('http://cdn.discordapp.com/a.png', policy)).toBe(false);
    expect(isAllowedAttachmentUrl('https://cdn.discordapp.com.evil.com/a.png', policy)).toBe(false);
    expect(isAllowedAttachmentUrl('https://cdn.discordapp.com:8443/a.png', policy)).toBe(false);
    expect(isAllowedAttachmentUrl('http://127.0.0.1:9999/a.png', policy)).toBe(false);
    expect(isAllowedAttachmentUrl('file:///etc/passwd', policy)).toBe(false);
  });
});

describe('options', () => {
  it('timesteps accept commas and spaces, and refuse anything else', () => {
    expect(parseTimesteps('0, 10 ,999', 1000)).toEqual([0, 10, 999]);
    expect(parseTimesteps(' ', 1000)).toBeUndefined();
    expect(() => parseTimesteps('1,-2', 1000)).toThrow(/whole numbers/);
    expect(() => parseTimesteps('1000', 1000)).toThrow(/0\.\.999/);
    expect(() => parseTimesteps(Array.from({ length: 17 }, (_, i) => i).join(','), 1000)).toThrow(/at most 16/);
  });

  it('reply targets not written by this adapter are ignored', () => {
    expect(parseReplyTarget({ channel: 'c1' })).toBeNull();
    expect(parseReplyTarget(null)).toBeNull();
  });
});

describe('label autocomplete choices', () => {
  it("stay within Discord's 25 for a model with more classes, matching what was typed", async () => {
    const dir = 'test/fixtures/conditional/tiny-cond';
    const manifest = await readManifest(dir);
    const classes = Array.from({ length: 40 }, (_, i) => `class ${i}`);
    const wide = { ...manifest, name: 'wide', conditioning: { ...manifest.conditioning!, classes, null_class: classes.length } };
    const models = new ModelRegistry([{ name: 'wide', dir, manifest: wide }]);
    const all = labelChoices(models, null, '');
    expect(all).toHaveLength(25);
    expect(all[0]).toEqual({ name: 'class 0', value: 'class 0' });
    expect(labelChoices(models, 'wide', 'class 3').map((c) => c.name)).toEqual(['class 3', ...classes.slice(30, 40)]);
    expect(labelChoices(models, 'missing', '')).toEqual([]);
  });
});
