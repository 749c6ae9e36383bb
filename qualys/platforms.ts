/**
 * Qualys platforms and the API server each one uses, and the rule for which
 * base URLs a connection may name: any https URL, or plain http only on the
 * loopback interface (where the simulator runs), so credentials never travel
 * unencrypted across a network.
 */
import net from 'node:net';
import { QualysSecurityError } from './errors.js';

export const QUALYS_PLATFORMS = {
  US1: 'https://qualysapi.qualys.com',
  US2: 'https://qualysapi.qg2.apps.qualys.com',
  US3: 'https://qualysapi.qg3.apps.qualys.com',
  US4: 'https://qualysapi.qg4.apps.qualys.com',
  EU1: 'https://qualysapi.qualys.eu',
  EU2: 'https://qualysapi.qg2.apps.qualys.eu',
  EU3: 'https://qualysapi.qg3.apps.qualys.it',
  IN1: 'https://qualysapi.qg1.apps.qualys.in',
  CA1: 'https://qualysapi.qg1.apps.qualys.ca',
  AE1: 'https://qualysapi.qg1.apps.qualys.ae',
  UK1: 'https://qualysapi.qg1.apps.qualys.co.uk',
  AU1: 'https://qualysapi.qg1.apps.qualys.com.au',
  KSA1: 'https://qualysapi.qg1.apps.qualysksa.com',
  GOV1: 'https://qualysapi.gov1.qualys.us',
} as const;

export type QualysPlatform = keyof typeof QUALYS_PLATFORMS;

export const QUALYS_PLATFORM_NAMES = Object.keys(QUALYS_PLATFORMS) as QualysPlatform[];

/** The platform whose API server is this origin, if it is a public one. */
export function platformOfUrl(url: URL | string): QualysPlatform | null {
  const origin = new URL(url).origin;
  return QUALYS_PLATFORM_NAMES.find((name) => QUALYS_PLATFORMS[name] === origin) ?? null;
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  if (net.isIPv6(host)) {
    if (host === '::1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
    return mapped != null && mapped[1]!.startsWith('127.');
  }
  return false;
}

export class QualysBaseUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QualysBaseUrlError';
  }
}

/**
 * Resolves what a user typed in the "Qualys API server URL" field: a platform
 * name (case-insensitive, e.g. `us2`) or a URL. The result is the origin plus
 * any path prefix, without query, fragment or credentials.
 */
export function resolveApiBaseUrl(platformOrUrl: string, field = 'apiBaseUrl'): URL {
  const input = platformOrUrl.trim();
  if (input === '') throw new QualysBaseUrlError(`${field}: is empty; give a platform name (${QUALYS_PLATFORM_NAMES.join(', ')}) or an https:// URL`);
  const platform = QUALYS_PLATFORM_NAMES.find((name) => name === input.toUpperCase());
  if (platform) return new URL(QUALYS_PLATFORMS[platform]);
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new QualysBaseUrlError(`${field}: "${input}" is neither a Qualys platform name (${QUALYS_PLATFORM_NAMES.join(', ')}) nor a URL`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new QualysBaseUrlError(`${field}: must not contain credentials; give the username and password in their own fields`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new QualysBaseUrlError(`${field}: must not contain a query or fragment, only the API server address`);
  }
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname)) {
      throw new QualysBaseUrlError(`${field}: plain http:// is only allowed for loopback hosts (127.0.0.1, ::1, localhost); use https:// for ${url.hostname}`);
    }
  } else if (url.protocol !== 'https:') {
    throw new QualysBaseUrlError(`${field}: protocol ${url.protocol} is not supported; use https://`);
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/** The same check at request time, as a Qualys error: a guard against settings that bypassed validation. */
export function assertSafeTransport(url: URL): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return;
  throw new QualysSecurityError(`refusing to send Qualys credentials over ${url.protocol} to ${url.hostname}`);
}
