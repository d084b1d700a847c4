/**
 * What reaches Bolt from /slack/events. Bolt trusts a request's shape once its signature checks
 * out, and checks only that the timestamp is not stale; here a request must be signed within
 * 5 minutes either way (401), and its body must be the object Bolt assumes (400): a signed `null`
 * made Bolt throw outside its own error handling and left the request unanswered.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseForm } from 'node:querystring';
import { ErrorCode, isValidSlackRequest, type ReceiverProcessEventErrorHandlerArgs } from '@slack/bolt';

/** Slack signs a timestamp with every request; further than this from now, either way, it is a replay. */
export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

function isObject(text: string): boolean {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** The status to refuse a request with before Bolt sees it, or null to hand it over. */
export function envelopeRefusal(req: IncomingMessage, rawBody: Buffer, signingSecret: string, nowMs = Date.now()): 400 | 401 | null {
  const text = rawBody.toString('utf8');
  // Bolt's own test for form bodies; any other type it parses as JSON.
  const form = req.headers['content-type'] === 'application/x-www-form-urlencoded' ? parseForm(text) : null;
  // Slack's unsigned SSL check: Bolt answers it without looking at anything else.
  if (form?.['ssl_check'] === '1') return null;
  const timestamp = Number(req.headers['x-slack-request-timestamp']);
  const signature = req.headers['x-slack-signature'];
  if (typeof signature !== 'string' || !Number.isFinite(timestamp) || Math.abs(nowMs / 1000 - timestamp) > MAX_CLOCK_SKEW_SECONDS) return 401;
  if (!isValidSlackRequest({ signingSecret, body: text, headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp }, nowMilliseconds: nowMs })) return 401;
  const json = form ? form['payload'] : text;
  if (json === undefined) return null;
  return typeof json === 'string' && isObject(json) ? null : 400;
}

/**
 * Bolt's answer when processing fails before ack(): our listeners ack first, so such a failure is
 * Bolt reading a signed body of an unexpected shape, a 400 rather than its default 500.
 */
export async function processEventError({ error, logger, response }: ReceiverProcessEventErrorHandlerArgs): Promise<boolean> {
  if (response.headersSent) return false;
  const unauthorized = 'code' in error && error.code === ErrorCode.AuthorizationError;
  logger.warn(`slack: event not processed (${error.message})`);
  (response as ServerResponse).writeHead(unauthorized ? 401 : 400).end();
  return true;
}
