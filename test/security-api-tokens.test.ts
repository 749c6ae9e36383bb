import { describe, expect, it } from 'vitest';
import {
  API_TOKEN_PREFIX,
  apiTokenDisplayPrefix,
  apiTokenMatchesHash,
  generateApiToken,
  hashApiToken,
  isApiTokenFormat,
} from '../security/api-tokens.js';

describe('API tokens', () => {
  it('are qec_ plus 32 random bytes in base64url, never repeating', () => {
    const tokens = Array.from({ length: 200 }, generateApiToken);
    for (const t of tokens) {
      expect(t.startsWith(API_TOKEN_PREFIX)).toBe(true);
      expect(Buffer.from(t.slice(API_TOKEN_PREFIX.length), 'base64url')).toHaveLength(32);
      expect(isApiTokenFormat(t)).toBe(true);
    }
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('recognise their own shape only', () => {
    const t = generateApiToken();
    expect(isApiTokenFormat(`${t}x`)).toBe(false);
    expect(isApiTokenFormat(t.replace(API_TOKEN_PREFIX, 'abc_'))).toBe(false);
    expect(isApiTokenFormat(`Bearer ${t}`)).toBe(false);
    expect(isApiTokenFormat('')).toBe(false);
  });

  it('hash to a stable hex SHA-256 that matches only the same token', () => {
    const t = generateApiToken();
    const hash = hashApiToken(t);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiToken(t)).toBe(hash);
    expect(hash).not.toContain(t.slice(API_TOKEN_PREFIX.length));
    expect(apiTokenMatchesHash(t, hash)).toBe(true);
    expect(apiTokenMatchesHash(generateApiToken(), hash)).toBe(false);
    expect(apiTokenMatchesHash(t, hash.slice(0, 10))).toBe(false);
  });

  it('show a short prefix that identifies but does not reveal the token', () => {
    const t = generateApiToken();
    const prefix = apiTokenDisplayPrefix(t);
    expect(t.startsWith(prefix)).toBe(true);
    expect(prefix).toHaveLength(API_TOKEN_PREFIX.length + 6);
  });
});
