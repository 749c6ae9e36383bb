/**
 * Bearer tokens for the API: `qec_` followed by 32 random bytes in base64url.
 *
 * Only a hash is stored. A single SHA-256 is the right hash here, not a slow
 * password hash (bcrypt, scrypt): the token carries 256 bits of randomness, so
 * no dictionary or brute-force attack on the hash is feasible, and a fast hash
 * keeps every authenticated request cheap and lets the hash be a unique
 * lookup key.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_TOKEN_PREFIX = 'qec_';
const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^qec_[A-Za-z0-9_-]{43}$/;
/** Characters shown in listings: the prefix and a few more, never enough to guess the rest. */
const DISPLAY_PREFIX_LENGTH = API_TOKEN_PREFIX.length + 6;

export function generateApiToken(): string {
  return API_TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
}

/** Whether a string has the shape of one of our tokens (cheap rejection before any lookup). */
export function isApiTokenFormat(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

/** Hex SHA-256 of the token: what the database stores and looks up. */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The token's leading characters, safe to display so users can tell their keys apart. */
export function apiTokenDisplayPrefix(token: string): string {
  return token.slice(0, DISPLAY_PREFIX_LENGTH);
}

/** Constant-time check of a presented token against a stored hash. */
export function apiTokenMatchesHash(token: string, storedHash: string): boolean {
  const presented = Buffer.from(hashApiToken(token), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
