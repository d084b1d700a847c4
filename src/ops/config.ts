/**
 * Environment for the operations surface (logs, playground switch), validated with zod once at
 * start. The job system's own variables live in src/config.ts; LOG_LEVEL is read by both and
 * accepts the same values.
 */
import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const onOff = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['on', 'off', 'true', 'false', '1', '0', 'yes', 'no']))
  .transform((v) => v === 'on' || v === 'true' || v === '1' || v === 'yes');

export const opsConfigSchema = z.object({
  /** pino level for the JSON logs on stdout. */
  LOG_LEVEL: z.string().trim().toLowerCase().pipe(z.enum(LOG_LEVELS)).default('info'),
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
  const parsed = opsConfigSchema.safeParse({ LOG_LEVEL: pick('LOG_LEVEL'), PLAYGROUND: pick('PLAYGROUND'), METRICS: pick('METRICS'), METRICS_PORT: pick('METRICS_PORT') });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new OpsConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  return parsed.data;
}
