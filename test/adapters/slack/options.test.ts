import { beforeAll, describe, expect, it } from 'vitest';
import type { SamplerPlugin } from '../../../src/core/sampler.ts';
import { ValidationError } from '../../../src/engine/errors.ts';
import { SamplerRegistry } from '../../../src/engine/samplers.ts';
import { parseSlackEnv, slackConfigured } from '../../../src/adapters/slack/env.ts';
import { OptionsError, parseGenerateText, parseNoiseDemoText } from '../../../src/adapters/slack/options.ts';
import { messageSeed } from '../../../src/adapters/slack/seed.ts';
import { trustedFileUrl } from '../../../src/adapters/slack/files.ts';
import { RateGate } from '../../../src/delivery/throttle.ts';
import { escapeMrkdwn, formatOptions } from '../../../src/adapters/slack/text.ts';

/** The installed plugins: the text may set any option they declare. */
let plugins: readonly SamplerPlugin[];
beforeAll(async () => {
  plugins = (await SamplerRegistry.discover()).list();
});
const parse = (text: string) => parseGenerateText(text, plugins);

describe('slash command text', () => {
  it('parses key:value and key=value options', () => {
    expect(parse('')).toEqual({});
    expect(parse('  model:tiny sampler=ddim steps:20 seed:4294967295 eta:0.5 count:4 ')).toEqual({
      model: 'tiny',
      sampler: 'ddim',
      steps: 20,
      seed: 4294967295,
      count: 4,
      options: { eta: 0.5 },
    });
    expect(parseNoiseDemoText('seed:3 timesteps:0,10,999')).toEqual({ seed: 3, timesteps: [0, 10, 999] });
  });

  it('takes a label, quoted when it has spaces (Slack sends & as &amp;, and may send curly quotes), and a guidance scale', () => {
    expect(parse('model:mnist label:7 guidance:3')).toEqual({ model: 'mnist', label: '7', guidance: 3 });
    expect(parse('label:"Food &amp; Drink" guidance=1.5 seed:2')).toEqual({ label: 'Food & Drink', guidance: 1.5, seed: 2 });
    expect(parse('label:“Travel &amp; Places”')).toEqual({ label: 'Travel & Places' });
    expect(parse('label:"class 1"')).toEqual({ label: 'class 1' });
  });

  it("takes any installed sampler's declared options, typed by the chosen sampler (default ddim)", () => {
    expect(parse('eta:1')).toEqual({ options: { eta: 1 } });
    expect(parse('sampler:euler ancestral:true')).toEqual({ sampler: 'euler', options: { ancestral: true } });
    expect(parse('sampler:score-sde corrector_steps=2 predictor:euler_maruyama')).toEqual({
      sampler: 'score-sde',
      options: { corrector_steps: 2, predictor: 'euler_maruyama' },
    });
    // An unknown sampler is the engine's to report; its options travel untyped.
    expect(parse('sampler:nope eta:1')).toEqual({ sampler: 'nope', options: { eta: '1' } });
  });

  it.each([
    ['eta:x', 'option eta must be a number in 0..1 (got "x")'],
    ['sampler:ddpm eta:0.5', 'sampler ddpm takes no option "eta"; it takes no options'],
    ['sampler:euler eta:0.5', 'sampler euler takes no option "eta"; its options: ancestral'],
    ['sampler:euler ancestral:maybe', 'option ancestral must be true or false (got "maybe")'],
    ['sampler:score-sde predictor:heun', 'option predictor must be one of reverse_diffusion, euler_maruyama (got "heun")'],
  ])('refuses the sampler option in %s, naming it and what it accepts', (text, message) => {
    expect(() => parse(text)).toThrow(ValidationError);
    expect(() => parse(text)).toThrow(message);
  });

  it('returns null for help', () => {
    expect(parse('help')).toBeNull();
    expect(parse(' HELP ')).toBeNull();
    expect(parseNoiseDemoText('--help')).toBeNull();
  });

  it.each([
    ['steps:1.5', 'steps must be a whole number'],
    ['seed:4294967296', 'seed must be at most 4294967295'],
    ['seed:-1', 'seed must be a whole number'],
    ['count:17', 'count must be at most 16'],
    ['count:0', 'count must be at least 1'],
    ['steps:', '"steps:" needs a value'],
    ['steps:2 steps:3', '"steps" is given twice'],
    ['cfg:7', 'Unknown option "cfg"'],
    ['tiny', 'I did not understand "tiny"'],
    ['model:../../etc', 'model must be a name'],
    ['label:"Food &amp; Drink', 'The quotes in "label:"Food" do not match'],
    ['label:Food &amp; Drink', 'I did not understand "&amp;"'],
    ['label:""', '"label:" needs a value, e.g. label:7'],
    ['guidance:21', 'guidance must be at most 20'],
    ['guidance:-1', 'guidance must be at least 0'],
    ['guidance:lots', 'guidance must be a number such as 3 or 1.5'],
  ])('refuses %s', (text, message) => {
    expect(() => parse(text)).toThrow(OptionsError);
    expect(() => parse(text)).toThrow(message);
  });
});

describe('message seed', () => {
  it('is a stable 32-bit seed of channel + ts', () => {
    const a = messageSeed('C1', '1700000000.000100');
    expect(a).toBe(messageSeed('C1', '1700000000.000100'));
    expect(Number.isInteger(a) && a >= 0 && a < 2 ** 32).toBe(true);
    expect(messageSeed('C1', '1700000000.000101')).not.toBe(a);
    expect(messageSeed('C2', '1700000000.000100')).not.toBe(a);
  });
});

describe('environment', () => {
  it('knows when Slack is configured', () => {
    expect(slackConfigured({})).toBe(false);
    expect(slackConfigured({ SLACK_BOT_TOKEN: 'xoxb-1' })).toBe(false);
    expect(slackConfigured({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' })).toBe(true);
    expect(slackConfigured({ SLACK_APP_TOKEN: 'xapp-1' })).toBe(true);
  });

  it('names every bad variable', () => {
    expect(() => parseSlackEnv({ SLACK_BOT_TOKEN: 'xoxp-user', SLACK_API_URL: 'not a url' })).toThrow(/SLACK_BOT_TOKEN: must be a bot token[\s\S]*SLACK_API_URL/);
    expect(() => parseSlackEnv({ SLACK_APP_TOKEN: 'xapp-1' })).toThrow(/SLACK_BOT_TOKEN: required/);
    expect(parseSlackEnv({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' })).toMatchObject({ PORT: 3000, SLACK_PROGRESS_INTERVAL_MS: 1500 });
  });

  it('reads the image look-back of /noise-demo and /invert under its name, else under its earlier name, else 600 s', () => {
    const base = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' };
    expect(parseSlackEnv(base).SLACK_IMAGE_LOOKBACK_SECONDS).toBe(600);
    expect(parseSlackEnv({ ...base, SLACK_NOISE_DEMO_LOOKBACK_SECONDS: '120' }).SLACK_IMAGE_LOOKBACK_SECONDS).toBe(120);
    expect(parseSlackEnv({ ...base, SLACK_NOISE_DEMO_LOOKBACK_SECONDS: '120', SLACK_IMAGE_LOOKBACK_SECONDS: '300' }).SLACK_IMAGE_LOOKBACK_SECONDS).toBe(300);
    expect(() => parseSlackEnv({ ...base, SLACK_IMAGE_LOOKBACK_SECONDS: '0' })).toThrow(/SLACK_IMAGE_LOOKBACK_SECONDS/);
  });
});

describe('file downloads', () => {
  it('send the bot token only to Slack', () => {
    expect(trustedFileUrl('https://files.slack.com/files-pri/T1-F1/download/a.png')).toBe(true);
    expect(trustedFileUrl('http://files.slack.com/x')).toBe(false);
    expect(trustedFileUrl('https://files.slack.com.evil.example/x')).toBe(false);
    expect(trustedFileUrl('https://evil.example/slack.com')).toBe(false);
    expect(trustedFileUrl('http://127.0.0.1:9/files/F1', 'http://127.0.0.1:9')).toBe(true);
  });
});

describe('progress rate gate', () => {
  it('spaces slots 60000/perMinute ms apart across callers', async () => {
    const gate = new RateGate(1200); // one slot per 50 ms
    const t0 = Date.now();
    const times = await Promise.all([0, 1, 2, 3].map(async () => {
      await gate.take();
      return Date.now() - t0;
    }));
    times.sort((a, b) => a - b);
    expect(times[0]).toBeLessThan(20);
    // Slot i is due 50·i ms after the first (timers fire late, never early, bar rounding).
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThanOrEqual(50 * i - 2);
  });
});

describe('text', () => {
  it('escapes user text and formats parsed options', () => {
    expect(escapeMrkdwn('<!channel> & <@U1|x>')).toBe('&lt;!channel&gt; &amp; &lt;@U1|x&gt;');
    expect(formatOptions({ model: 'tiny', steps: 20, seed: undefined, timesteps: [0, 5] })).toBe('model:tiny steps:20 timesteps:0,5');
    // Labels are user text: quoted as typed, and escaped so they cannot form mentions or links.
    expect(formatOptions({ label: 'Food & Drink', guidance: 3 })).toBe('label:"Food &amp; Drink" guidance:3');
    expect(formatOptions({ label: '<!channel>' })).toBe('label:&lt;!channel&gt;');
    // A sampler's options are shown as they are typed: as keys of their own.
    expect(formatOptions({ sampler: 'ddim', options: { eta: 0.5 } })).toBe('sampler:ddim eta:0.5');
  });
});
