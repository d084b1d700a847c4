/**
 * What the service accepts before a handler runs, so nothing is open by accident:
 *   - Host allow-list: a browser tricked by DNS rebinding sends a foreign Host name; refused (403).
 *   - Cross-site writes: a state-changing request from a foreign Origin (403), or with a body that is
 *     not application/json or multipart/form-data (415: HTML forms can send text/plain cross-site
 *     without a preflight).
 *   - API_TOKEN: when set, every route that is not marked open needs `Authorization: Bearer <token>`
 *     (or HTTP Basic with the token as password, which browsers prompt for and then send themselves).
 * Routes that authenticate their callers themselves (Slack's signed requests) skip all three.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { networkInterfaces } from 'node:os';
import { HttpError } from './errors.ts';
import { parseHost, type HostHeader } from './request.ts';

export interface GuardContext {
  readonly method: string;
  readonly host: HostHeader | null;
  /** The route needs API_TOKEN when one is set (false: health, readiness, metrics). */
  readonly auth: boolean;
  /** The route checks its callers itself (Slack signatures): no host, origin or token checks. */
  readonly selfAuthenticated: boolean;
  /** false for requests no route serves: only the Host is checked before their 404 or 405. */
  readonly matched: boolean;
}

/** Throws an HttpError to refuse the request. */
export type RequestGuard = (req: IncomingMessage, ctx: GuardContext) => void;

export interface GuardPolicy {
  /** Host names served (lower case; ".example.com" also matches its subdomains); "any" disables the check. */
  readonly allowedHosts: readonly string[] | 'any';
  readonly apiToken?: string | undefined;
}

const LOCAL_NAMES = ['localhost', '127.0.0.1', '::1'];
const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** The default allow-list: localhost names and the bound address (every local address when bound to all). */
export function defaultAllowedHosts(bindHost: string): string[] {
  if (!WILDCARDS.has(bindHost)) return [...new Set([...LOCAL_NAMES, bindHost.toLowerCase()])];
  const addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address.toLowerCase()));
  return [...new Set([...LOCAL_NAMES, ...addresses])];
}

const ACCEPTED_BODIES = new Set(['application/json', 'multipart/form-data']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function hostAllowed(hostname: string, allowed: readonly string[]): boolean {
  return allowed.some((a) => a === hostname || (a.startsWith('.') && (hostname.endsWith(a) || hostname === a.slice(1))));
}

/** Same site: the Origin's host is the Host the request was sent to (ports compared when the Host names one). */
function sameOrigin(origin: string, host: HostHeader | null): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  const from = parseHost(url.host);
  if (!from || !host || from.hostname !== host.hostname) return false;
  if (host.port === null) return true;
  return (from.port ?? (url.protocol === 'https:' ? 443 : 80)) === host.port;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** The token a request presents: Bearer, or the password of Basic credentials. */
function presentedToken(header: string | undefined): string | null {
  if (!header) return null;
  const [scheme, value = ''] = header.trim().split(/\s+/, 2);
  if (scheme?.toLowerCase() === 'bearer') return value;
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? null : decoded.slice(colon + 1);
  }
  return null;
}

export function createGuard(policy: GuardPolicy): RequestGuard {
  const allowed = policy.allowedHosts === 'any' ? null : policy.allowedHosts.map((h) => h.toLowerCase());
  const token = policy.apiToken ? digest(policy.apiToken) : null;
  return (req, ctx) => {
    if (ctx.selfAuthenticated) return;
    if (allowed && ctx.host && !hostAllowed(ctx.host.hostname, allowed)) {
      throw new HttpError(403, { error: 'forbidden_host', field: 'Host', message: `host "${ctx.host.hostname}" is not served here (ALLOWED_HOSTS)` });
    }
    if (token && ctx.auth) {
      const presented = presentedToken(req.headers.authorization);
      if (presented === null || !timingSafeEqual(digest(presented), token)) {
        throw new HttpError(
          401,
          { error: 'unauthorized', field: 'Authorization', message: 'send the API token: Authorization: Bearer <API_TOKEN>' },
          { 'www-authenticate': 'Basic realm="ddpm-bot", charset="UTF-8"' },
        );
      }
    }
    if (!ctx.matched || SAFE_METHODS.has(ctx.method)) return;
    const origin = req.headers.origin;
    if (origin !== undefined && !sameOrigin(origin, ctx.host)) {
      throw new HttpError(403, { error: 'forbidden_origin', field: 'Origin', message: `cross-site requests are refused (Origin ${origin.slice(0, 100)})` });
    }
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (hasBody && !ACCEPTED_BODIES.has(type)) {
      throw new HttpError(415, { error: 'unsupported_media_type', field: 'Content-Type', message: `Content-Type must be application/json or multipart/form-data (got "${type || 'none'}")` });
    }
  };
}
