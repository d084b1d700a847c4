/**
 * Issue 19 as a user sees it: `ddpm-bot serve` with a Discord token and the embedded database is
 * killed with SIGKILL in the middle of a /generate and started again with the same environment.
 * The restarted service takes back the job its earlier run had leased, runs it at once, and edits
 * the original response with the final image, once: no second post, no new message. The image is
 * the CLI's for the same request. Real discord.js against the fake Discord, real PGlite, the real
 * engine on the shipped mnist model (a few seconds per job here, so the kill lands mid-job; the tiny
 * fixture finishes 1000 steps in about a second).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../fakes/discord/server.ts';
import { embedField, embedTitle, isFinal } from '../adapters/discord/support/harness.ts';
import { cliPng, startServe, type ServeProcess } from './support/serve-process.ts';

let fake: FakeDiscord;
let dataDir: string;
const children: ServeProcess[] = [];

beforeAll(async () => {
  fake = await FakeDiscord.start();
  dataDir = await mkdtemp(path.join(tmpdir(), 'ddpm-crash-'));
});

afterAll(async () => {
  for (const c of children) await c.stop('SIGKILL');
  await fake?.close();
  await rm(dataDir, { recursive: true, force: true });
});

function startService(): ServeProcess {
  const service = startServe(dataDir, { DISCORD_TOKEN: fake.botToken, DISCORD_APPLICATION_ID: fake.applicationId, DISCORD_API_BASE: fake.apiBase });
  children.push(service);
  return service;
}

const finalEdits = (edits: readonly { embeds: readonly Record<string, unknown>[] }[]) =>
  edits.filter((e) => /^(✨|❌)/u.test(String(e.embeds[0]?.['title'] ?? ''))).length;

describe('SIGKILL of the single-process service mid-job', () => {
  it('the restarted service resumes the job at once and edits the original response with the CLI-identical image, once', async () => {
    const first = startService();
    // The first start creates and migrates the embedded database: minutes on a loaded machine.
    await fake.waitFor(() => first.output().includes('discord adapter ready') || first.child.exitCode !== null, 300_000, 'first start');
    expect(first.child.exitCode, first.output()).toBeNull();
    const user = fake.user('kim');
    const params = { model: 'mnist', sampler: 'ddim', steps: 50, seed: 1919 };
    const interaction = fake.command(user, 'generate', params);
    await fake.waitFor(() => interaction.edits.some((e) => String(e.embeds[0]?.['title']).startsWith('🌀 Denoising')), 60_000, 'a progress edit');
    await first.stop('SIGKILL');
    expect(interaction.response && isFinal(interaction.response)).toBe(false);

    const restartedAt = Date.now();
    const second = startService();
    try {
      const final = await fake.waitFor(() => (interaction.response && isFinal(interaction.response) ? interaction.response : null), 60_000, 'the final image after the restart');
      const recoveryMs = Date.now() - restartedAt;
      const resumedLine = second.output().split('\n').find((l) => l.includes('"msg":"took back jobs leased by an earlier run of this service"'));
      const resumedAt = Date.parse(/"time":"([^"]+)"/.exec(resumedLine ?? '')?.[1] ?? '');
      process.stdout.write(
        `[recovery] embedded service SIGKILL: job taken back ${resumedAt - restartedAt} ms after the restart (start-up), final image edited ${recoveryMs} ms after it\n`,
      );
      expect(recoveryMs).toBeLessThan(60_000);
      expect(second.output()).toMatch(/took back jobs leased by an earlier run/);
      expect(embedTitle(final)).toBe('✨ Done');
      expect(embedField(final, 'Seed')).toBe('`1919`');
      // Let any duplicate delivery (there must be none) arrive before counting.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(finalEdits(interaction.edits)).toBe(1);
      expect(interaction.followups).toHaveLength(0);
      expect(fake.channelMessages).toHaveLength(0);

      const original = final.files.find((f) => f.filename === 'ddpm-1919-original.png');
      expect(original, final.files.map((f) => f.filename).join(', ')).toBeDefined();
      expect(Buffer.compare(original!.bytes, await cliPng(['--model', 'mnist', '--sampler', 'ddim', '--steps', '50', '--seed', '1919']))).toBe(0);
    } finally {
      await second.stop('SIGTERM');
    }
  }, 480_000);
});
