/**
 * Environment for the operations surface (logs, playground switch, what the HTTP server exposes
 * and to whom), validated with zod once at start. The job system's own variables live in
 * src/config.ts; LOG_LEVEL is read by both and accepts the same values.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const onOff = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['on', 'off', 'true', 'false', '1', '0', 'yes', 'no']))
  .transform((v) => v === 'on' || v === 'true' || v === '1' || v === 'yes');

const hostName = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/i;
const isHost = (h: string) => isIP(h) !== 0 || hostName.test(h);

/** "*" (any host) or a comma-separated list of names; ".example.com" also matches its subdomains. */
const allowedHosts = z
  .string()
  .transform((v) => v.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean))
  .superRefine((hosts, ctx) => {
    if (hosts.length === 0) ctx.addIssue({ code: 'custom', message: 'list at least one host name, or * for any' });
    for (const h of hosts) {
      if (h !== '*' && !isHost(h.replace(/^\./, ''))) ctx.addIssue({ code: 'custom', message: `"${h}" is not a host name or address` });
    }
    if (hosts.includes('*') && hosts.length > 1) ctx.addIssue({ code: 'custom', message: '* stands alone (any host)' });
  })
  .transform((hosts): readonly string[] | 'any' => (hosts[0] === '*' ? 'any' : hosts));

export const opsConfigSchema = z.object({
  /** Address the HTTP server binds: loopback unless a deployment opens it deliberately (0.0.0.0). */
  HOST: z.string().trim().refine(isHost, 'must be an IP address or host name (0.0.0.0 for every interface)').default('127.0.0.1'),
  /** Host names the server answers for (DNS rebinding); unset: localhost names and the bound address. */
  ALLOWED_HOSTS: allowedHosts.optional(),
  /** When set, the API and the playground need `Authorization: Bearer <token>` (or Basic with it as password). */
  API_TOKEN: z.string().regex(/^\S{16,}$/, 'must be at least 16 characters without spaces').optional(),
  /** Seconds a client has to send a whole request (headers and body); stalled uploads get 408. */
  REQUEST_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** pino level for the logs on stdout. */
  LOG_LEVEL: z.string().trim().toLowerCase().pipe(z.enum(LOG_LEVELS)).default('info'),
  /** `auto`: readable lines on a terminal, JSON lines otherwise (files, journald, log shippers); `json` or `pretty` force one. */
  LOG_FORMAT: z.string().trim().toLowerCase().pipe(z.enum(LOG_FORMATS)).default('auto'),
  /** `off` disables the web playground page and its helper routes (the HTTP API, /healthz and /metrics stay). */
  PLAYGROUND: onOff.default('on'),
  /** `off` hides GET /metrics (e.g. when the port is public and no proxy guards it). */
  METRICS: onOff.default('on'),
  /** ROLE=worker has no HTTP server; with this set it serves /healthz and /metrics on this port. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
});

export type OpsConfig = z.infer<typeof opsConfigSchema>;

export class OpsConfigError extends Error {
  override readonly name = 'OpsConfigError';
}

/** Parses the ops variables from `env`; empty strings count as unset. Throws OpsConfigError naming each bad variable. */
export function loadOpsConfig(env: NodeJS.ProcessEnv = process.env): OpsConfig {
  const pick = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  const names = ['LOG_LEVEL', 'LOG_FORMAT', 'PLAYGROUND', 'METRICS', 'METRICS_PORT', 'HOST', 'ALLOWED_HOSTS', 'API_TOKEN', 'REQUEST_TIMEOUT_SECONDS'] as const;
  const parsed = opsConfigSchema.safeParse(Object.fromEntries(names.map((n) => [n, pick(n)])));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new OpsConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  return parsed.data;
}
