/**
 * What users complain about in other bots, end to end: lost jobs after restarts, double replies,
 * jobs that outlive the 15-minute interaction token, and unclear rate limits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeInteraction } from '../../fakes/discord/server.ts';
import { Harness, customIds, embedField, embedTitle, isFinal, requestIdOf } from './support/harness.ts';

function finalEdits(interaction: FakeInteraction): number {
  return interaction.edits.filter((e) => /^(✨|❌)/u.test(String(e.embeds[0]?.['title'] ?? ''))).length;
}

describe('restarts and limits', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({ label: 'restart', runtime: { LIMIT_CONCURRENT_PER_USER: 2, JOB_RETRY_LIMIT: 0 } });
  });

  afterAll(async () => {
    await h?.close();
  });

  async function waitForStatus(userId: string, status: string): Promise<string> {
    const requester = { platform: 'discord' as const, workspaceId: h.fake.guildId, userId };
    for (let i = 0; i < 200; i++) {
      const [latest] = await h.runtime.service.listRecentRequests(requester, 1);
      if (latest?.status === status) return latest.id;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`request of ${userId} never became ${status}`);
  }

  it('a bot restart mid-job: the new bot picks the job up and sends exactly one final reply', async () => {
    const quinn = h.fake.user('quinn');
    h.gate.close();
    const interaction = h.fake.command(quinn, 'generate', { model: 'tiny', sampler: 'ddim', steps: 10, seed: 8 });
    const id = await waitForStatus(quinn.id, 'running');
    await h.stopBot();
    await h.startBot();
    h.gate.open();
    const final = await h.result(interaction);
    expect(embedField(final, 'Request')).toBe(`\`${id}\``);
    // Before counting: the paths that would send a duplicate (the platform-wide event, a sweep) have run.
    await h.deliveriesSettled(id, Date.now(), { platformEvent: true });
    expect(finalEdits(interaction)).toBe(1);
    expect(h.fake.channelMessages).toHaveLength(0);
    expect((await h.runtime.service.getRequest(id))?.deliveredAt).not.toBeNull();
  });

  it('a job that finishes while no bot is running is delivered once by the next bot', async () => {
    const rosa = h.fake.user('rosa');
    h.gate.close();
    const interaction = h.fake.command(rosa, 'generate', { model: 'tiny', sampler: 'ddim', steps: 10, seed: 9 });
    await waitForStatus(rosa.id, 'running');
    await h.stopBot();
    h.gate.open();
    const id = await waitForStatus(rosa.id, 'succeeded');
    expect(interaction.response && isFinal(interaction.response)).toBe(false);
    await h.startBot();
    const final = await h.result(interaction);
    expect(embedField(final, 'Request')).toBe(`\`${id}\``);
    // It finished with no bot listening, so no platform-wide event comes; a later sweep would repeat it.
    await h.deliveriesSettled(id, Date.now(), { platformEvent: false });
    expect(finalEdits(interaction)).toBe(1);
  });

  it('a finished request whose images are gone still gets a final answer, not a stale preview', async () => {
    const xena = h.fake.user('xena');
    h.gate.close();
    const interaction = h.fake.command(xena, 'generate', { model: 'tiny', sampler: 'ddim', steps: 4, seed: 4 });
    await waitForStatus(xena.id, 'running');
    await h.stopBot();
    h.gate.open();
    const id = await waitForStatus(xena.id, 'succeeded');
    await h.runtime.db.pool.query('DELETE FROM request_images WHERE request_id = $1', [id]);
    await h.startBot();
    const final = await h.result(interaction);
    expect(embedTitle(final)).toBe('❌ The result could not be shown');
    expect(String(final.embeds[0]?.['description'])).toContain(`/info request_id:${id}`);
  });

  it('a job that fails ends with one clear public answer, not an endless preview', async () => {
    const yara = h.fake.user('yara');
    h.gate.failNext('the model session crashed');
    const interaction = h.fake.command(yara, 'generate', { model: 'tiny', sampler: 'ddim', steps: 3, seed: 3 });
    const final = await h.result(interaction);
    expect(embedTitle(final)).toBe('❌ Generation failed');
    expect(String(final.embeds[0]?.['description'])).toContain('the model session crashed');
    expect(final.components).toEqual([]);
    expect(finalEdits(interaction)).toBe(1);
  });

  it('shows the queue position while a request waits, then runs it', async () => {
    const [vera, walt] = [h.fake.user('vera'), h.fake.user('walt')];
    h.gate.close();
    try {
      const running = h.fake.command(vera, 'generate', { model: 'tiny', sampler: 'ddim', steps: 6, seed: 1 });
      await waitForStatus(vera.id, 'running');
      // Another batch key (other steps), so it cannot join the running batch: it waits in the queue.
      const waiting = h.fake.command(walt, 'generate', { model: 'tiny', sampler: 'ddim', steps: 7, seed: 2 });
      const queued = await h.original(waiting, (m) => embedTitle(m).startsWith('⏳ Queued'), 'queue position');
      expect(embedTitle(queued)).toBe('⏳ Queued: you are next');
      expect(String(queued.embeds[0]?.['description'])).toBe('tiny · ddim · 7 steps · eta 0 · seed 2');
      h.gate.open();
      await Promise.all([h.result(running), h.result(waiting)]);
    } finally {
      h.gate.open();
    }
  });

  it('over the per-user limit: a private answer with the time to retry, and no public trace', async () => {
    const sam = h.fake.user('sam');
    h.gate.close();
    try {
      const first = h.fake.command(sam, 'generate', { model: 'tiny', steps: 5 });
      const second = h.fake.command(sam, 'generate', { model: 'tiny', steps: 5 });
      await h.fake.waitFor(() => first.edits.length > 0 && second.edits.length > 0, 10_000, 'both queued');
      const third = h.fake.command(sam, 'generate', { model: 'tiny', steps: 5 });
      const text = await h.ephemeralError(third);
      expect(text).toMatch(/^⏳ You already have 2 requests queued or running \(limit 2\)\. Try again .* in about 15 seconds\. \(ready <t:\d+:R>\)$/u);
      await h.fake.waitFor(() => third.response?.deleted, 5_000, 'thinking message removed');
      expect(embedTitle(first.response!)).toMatch(/Queued|Starting|Denoising/u);
    } finally {
      h.gate.open();
    }
  });
});

describe('a job that outlives the interaction token', () => {
  let h: Harness;
  const ttl = 4_000;

  beforeAll(async () => {
    h = await Harness.start({
      label: 'expiry',
      fake: { interactionTokenTtlMs: ttl },
      tuning: { interactionTokenTtlMs: ttl, expiryNoticeLeadMs: 1_500 },
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('is delivered as a channel message that mentions the requester once', async () => {
    const tess = h.fake.user('tess');
    h.gate.close();
    const interaction = h.fake.command(tess, 'generate', { model: 'tiny', sampler: 'ddim', steps: 10, seed: 10 });
    // Before the token dies the message says where the result will come.
    await h.original(interaction, (m) => embedTitle(m) === '🕰️ Still working', 'expiry notice', ttl);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, interaction.createdAt + ttl + 200 - Date.now())));
    h.gate.open();
    const posted = await h.fake.waitFor(() => h.fake.channelMessages[0], 20_000, 'channel delivery');
    expect(posted.content).toBe(`<@${tess.id}> your image is ready`);
    expect(posted.allowedMentions).toEqual({ users: [tess.id] });
    expect(embedField(posted, 'Seed')).toBe('`10`');
    expect(posted.files.some((f) => f.filename === 'ddpm-10-original.png')).toBe(true);
    await h.deliveriesSettled(requestIdOf(posted), Date.now(), { platformEvent: true });
    expect(h.fake.channelMessages).toHaveLength(1);
    // Nothing else pinged anyone: every edit disallowed mentions.
    expect(interaction.response?.allowedMentions).toEqual({ parse: [] });
    expect(interaction.response && isFinal(interaction.response)).toBe(false);
    // Its buttons work like any result's.
    const deleteId = customIds(posted).find((c) => c.startsWith('ddpm:delete:'))!;
    h.fake.click(tess, posted, deleteId);
    await h.fake.waitFor(() => posted.deleted, 10_000, 'channel result deleted');
  });
});
