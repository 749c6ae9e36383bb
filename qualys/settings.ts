/**
 * Connection settings for the Qualys client, validated with zod.
 * Timeouts default long on purpose: Qualys takes minutes to start answering
 * large Host List Detection pages, and a page body can pause for a while.
 */
import { z } from 'zod';
import { QualysBaseUrlError, resolveApiBaseUrl } from './platforms.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
export const DEFAULT_FIRST_BYTE_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;

export const QUALYS_API_VERSIONS = ['2.0', '3.0', '4.0', '5.0'] as const;
export type QualysApiVersion = (typeof QUALYS_API_VERSIONS)[number];
export const DEFAULT_API_VERSION: QualysApiVersion = '5.0';

const timeoutMs = (name: string) =>
  z
    .number({ error: `${name}: must be a number of milliseconds` })
    .int(`${name}: must be a whole number of milliseconds`)
    .min(1, `${name}: must be at least 1 ms`)
    .max(24 * 3600_000, `${name}: must be at most 24 hours`);

export const qualysTimeoutsSchema = z
  .object({
    connectMs: timeoutMs('connectMs').default(DEFAULT_CONNECT_TIMEOUT_MS),
    firstByteMs: timeoutMs('firstByteMs').default(DEFAULT_FIRST_BYTE_TIMEOUT_MS),
    idleMs: timeoutMs('idleMs').default(DEFAULT_IDLE_TIMEOUT_MS),
  })
  .strict();

export type QualysTimeouts = z.infer<typeof qualysTimeoutsSchema>;

export const qualysConnectionSettingsSchema = z
  .object({
    apiBaseUrl: z.string({ error: 'apiBaseUrl: is required' }).transform((value, ctx) => {
      try {
        return resolveApiBaseUrl(value).toString().replace(/\/$/, '');
      } catch (err) {
        if (!(err instanceof QualysBaseUrlError)) throw err;
        ctx.addIssue({ code: 'custom', message: err.message });
        return z.NEVER;
      }
    }),
    apiVersion: z.enum(QUALYS_API_VERSIONS, { error: `apiVersion: must be one of ${QUALYS_API_VERSIONS.join(', ')}` }).default(DEFAULT_API_VERSION),
    username: z.string({ error: 'username: is required' }).trim().min(1, 'username: must not be empty').max(256, 'username: is too long'),
    password: z.string({ error: 'password: is required' }).min(1, 'password: must not be empty').max(1024, 'password: is too long'),
    timeouts: qualysTimeoutsSchema.optional(),
    proxyUrl: z
      .string()
      .refine((value) => {
        try {
          const url = new URL(value);
          return url.protocol === 'http:' || url.protocol === 'https:';
        } catch {
          return false;
        }
      }, 'proxyUrl: must be an http:// or https:// URL')
      .optional(),
    /**
     * Extra certificate authorities to trust, as PEM text (a private-cloud
     * platform's own CA, or the simulator's self-signed certificate). The
     * public CAs stay trusted; verification is never switched off.
     */
    ca: z
      .string({ error: 'ca: must be PEM text' })
      .max(256 * 1024, 'ca: is too long')
      .refine((value) => value.includes('-----BEGIN CERTIFICATE-----'), 'ca: must hold at least one PEM certificate (-----BEGIN CERTIFICATE-----)')
      .optional(),
  })
  .strict();

export type QualysConnectionSettings = z.input<typeof qualysConnectionSettingsSchema>;
export type ResolvedQualysConnectionSettings = z.output<typeof qualysConnectionSettingsSchema>;

/** Settings that failed validation; the message lists every problem, each naming its field. */
export class QualysSettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid Qualys connection settings: ${problems.join('; ')}`);
    this.name = 'QualysSettingsError';
  }
}

export function parseQualysConnectionSettings(input: QualysConnectionSettings): ResolvedQualysConnectionSettings {
  const result = qualysConnectionSettingsSchema.safeParse(input);
  if (!result.success) throw new QualysSettingsError(result.error.issues.map((issue) => issue.message));
  return result.data;
}

export function resolveTimeouts(timeouts: Partial<QualysTimeouts> | undefined): QualysTimeouts {
  return qualysTimeoutsSchema.parse(timeouts ?? {});
}
