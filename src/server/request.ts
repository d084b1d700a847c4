/**
 * The two parts of a request line and headers the router trusts only after checking them: the
 * target (path and query) and the Host header. Both come straight from the client, so anything
 * malformed is a 400 naming it, never an exception.
 */
import type { IncomingMessage } from 'node:http';
import { badRequest } from './errors.ts';

/** A fixed base: the URL must never depend on the client's Host header. */
const BASE = 'http://service.invalid';

/** The origin-form target ("/path?query") as a URL; absolute-form ("http://x/") and "*" are refused. */
export function requestUrl(req: IncomingMessage): URL {
  const target = req.url ?? '/';
  if (!target.startsWith('/')) throw badRequest('target', `the request target must be a path starting with "/" (got "${target.slice(0, 100)}")`);
  try {
    // Concatenated, not resolved: "//evil/x" must stay a path, not become a host.
    return new URL(`${BASE}${target}`);
  } catch {
    throw badRequest('target', 'the request target is not a valid path');
  }
}

export interface HostHeader {
  /** Lower case, IPv6 without brackets. */
  readonly hostname: string;
  readonly port: number | null;
}

const HOST = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9_.-]+))(?::(\d{1,5}))?$/i;

/** Parses a Host value (also the host part of an Origin); null when malformed. */
export function parseHost(value: string): HostHeader | null {
  const m = HOST.exec(value.trim());
  if (!m) return null;
  const port = m[3] === undefined ? null : Number(m[3]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { hostname: (m[1] ?? m[2]!).toLowerCase(), port };
}

/** The request's Host header, or null without one (HTTP/1.0); 400 when it is malformed. */
export function requestHost(req: IncomingMessage): HostHeader | null {
  const value = req.headers.host;
  if (value === undefined || value === '') return null;
  const host = parseHost(value);
  if (!host) throw badRequest('Host', `malformed Host header "${value.slice(0, 100)}": expected name[:port] with a port in 1..65535`);
  return host;
}

/** Decodes one route parameter; bad percent-encoding is a 400 naming the parameter. */
export function decodeParam(name: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badRequest(name, `${name}: bad percent-encoding in "${raw.slice(0, 100)}"`);
  }
}
