/**
 * Sends fuzz cases and the two scenarios a case list cannot express (slow clients, chunked bodies
 * that never end) and tallies how each request ended: its status, or a hang (no status line within
 * the time limit), or a connection closed without an answer; plus answers that leak a stack trace.
 */
import { randomUUID } from 'node:crypto';
import type { FuzzCase } from './cases.ts';
import { rawRequest, sendRaw, type RawOptions, type RawResult } from './raw-http.ts';

export interface Tally {
  sent: number;
  /** '400', '413', …, 'closed' (no answer), 'hang' (no status line in time). */
  readonly outcomes: Map<string, number>;
  serverErrors: number;
  hangs: number;
  unanswered: number;
  stackTraces: number;
  slowestMs: number;
  /** The first few requests that got a 5xx, no answer or a stack trace, for replaying. */
  readonly failures: string[];
}

export function newTally(): Tally {
  return { sent: 0, outcomes: new Map(), serverErrors: 0, hangs: 0, unanswered: 0, stackTraces: 0, slowestMs: 0, failures: [] };
}

const STACK = /\n\s+at \S.*:\d+:\d+|node:internal|\.ts:\d+:\d+/;

export function record(t: Tally, label: string, r: RawResult, request: Buffer | string): void {
  t.sent++;
  const key = r.outcome === 'response' ? String(r.status) : r.outcome;
  t.outcomes.set(key, (t.outcomes.get(key) ?? 0) + 1);
  t.slowestMs = Math.max(t.slowestMs, r.ms);
  const serverError = r.status !== null && r.status >= 500;
  const leak = STACK.test(r.body);
  if (serverError) t.serverErrors++;
  if (r.outcome === 'hang') t.hangs++;
  if (r.outcome === 'closed') t.unanswered++;
  if (leak) t.stackTraces++;
  if ((serverError || leak || r.outcome !== 'response') && t.failures.length < 10) {
    t.failures.push(`${label}: ${key} after ${Math.round(r.ms)} ms <- ${JSON.stringify(request.toString('latin1').slice(0, 300))}`);
  }
}

async function pool<T>(items: readonly T[], concurrency: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await each(items[next++]!);
  }));
}

export async function runCases(port: number, cases: readonly FuzzCase[], tally: Tally, concurrency = 16, timeoutMs = 5000): Promise<void> {
  await pool(cases, concurrency, async (c) => record(tally, c.category, await sendRaw(port, [c.bytes], { timeoutMs }), c.bytes));
}

/**
 * Clients that trickle headers or stall mid-body. The server must cut each off with 408 once
 * REQUEST_TIMEOUT_SECONDS pass (`timeoutMs` should be a little more than that).
 */
export async function slowClients(port: number, count: number, tally: Tally, timeoutMs: number): Promise<void> {
  const host = `Host: 127.0.0.1:${port}`;
  const kinds: Array<[ReadonlyArray<Buffer | string>, RawOptions]> = [
    // Headers one byte at a time, never finished.
    [[...`GET /healthz HTTP/1.1\r\n${host}\r\nX-Slow: `], { gapMs: 150 }],
    // A multipart upload that declares 8 MB and stalls after 1 KB.
    [[rawRequest('POST /api/noise-demo HTTP/1.1', [host, 'Content-Type: multipart/form-data; boundary=b', `Content-Length: ${8 * 1024 * 1024}`], `--b\r\n${'x'.repeat(1024)}`)], {}],
    // A JSON body trickled a byte at a time.
    [[rawRequest('POST /api/generate HTTP/1.1', [host, 'Content-Type: application/json', 'Content-Length: 1000'], ''), ...'{"model":"'], { gapMs: 200, endless: Buffer.from('x') }],
  ];
  const items = Array.from({ length: count }, (_, i) => kinds[i % kinds.length]!);
  await pool(items, count, async ([parts, options]) => record(tally, 'slow client', await sendRaw(port, parts, { ...options, timeoutMs }), Buffer.concat(parts.map((p) => Buffer.from(p)))));
}

/** Chunked bodies without Content-Length that never end, to every route that reads a body (and one that does not). */
export async function chunkedOversize(port: number, tally: Tally, withSlack: boolean, rounds = 2): Promise<void> {
  const routes: Array<[string, string]> = [
    ['POST /api/generate', 'application/json'],
    ['POST /api/noise-demo', 'multipart/form-data; boundary=b'],
    [`POST /api/requests/${randomUUID()}/replay`, 'application/json'],
    ['GET /healthz', 'application/json'],
    ...(withSlack ? [['POST /slack/events', 'application/x-www-form-urlencoded'] as [string, string]] : []),
  ];
  const chunk = Buffer.from(`10000\r\n${'x'.repeat(0x10000)}\r\n`);
  for (let i = 0; i < rounds; i++) {
    for (const [line, type] of routes) {
      const head = rawRequest(`${line} HTTP/1.1`, [`Host: 127.0.0.1:${port}`, `Content-Type: ${type}`, 'Transfer-Encoding: chunked']);
      record(tally, 'chunked oversize', await sendRaw(port, [head], { endless: chunk, timeoutMs: 10_000 }), head);
    }
  }
}

/** One finished one-image generation to aim the edit routes at (vary, invert, interpolate's from). */
export async function finishedRequest(port: number, model: string): Promise<string> {
  const base = `http://127.0.0.1:${port}`;
  const res = await fetch(`${base}/api/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, steps: 2, seed: 1 }) });
  const { id } = (await res.json()) as { id: string };
  for (let i = 0; i < 600; i++) {
    const view = (await (await fetch(`${base}/api/requests/${id}`)).json()) as { status: string };
    if (view.status === 'succeeded') return id;
    if (view.status === 'failed' || view.status === 'cancelled') throw new Error(`the fuzz target's request ${id} ${view.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the fuzz target's request ${id} did not finish in 60 s`);
}
