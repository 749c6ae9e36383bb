import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretBox, SecretBoxError } from '../security/secret-box.js';
import { loadOrCreateKeyFile, loadSecretsKey, parseSecretsKey } from '../security/secrets-key.js';

const SECRET = 'Qualys-P@ssw0rd-ünïcødé';
const AAD = 'connection:1b4e28ba-2fa1-11d2-883f-0016d3cca427:password';

/** Flips one base64url character of a part of the `v1.<iv>.<tag>.<ciphertext>` string. */
function tamper(token: string, part: 1 | 2 | 3): string {
  const parts = token.split('.');
  const text = parts[part]!;
  const flipped = text[0] === 'A' ? 'B' : 'A';
  parts[part] = flipped + text.slice(1);
  return parts.join('.');
}

describe('secret box', () => {
  const box = createSecretBox(randomBytes(32));

  it('round-trips text, with a fresh IV every time', () => {
    const a = box.encrypt(SECRET, AAD);
    const b = box.encrypt(SECRET, AAD);
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain(SECRET);
    expect(box.decrypt(a, AAD)).toBe(SECRET);
    expect(box.decrypt(b, AAD)).toBe(SECRET);
    expect(box.decrypt(box.encrypt('', AAD), AAD)).toBe('');
  });

  it('refuses a ciphertext presented for another record, without revealing the secret', () => {
    const token = box.encrypt(SECRET, AAD);
    const attempt = () => box.decrypt(token, 'connection:someone-else:password');
    expect(attempt).toThrow(SecretBoxError);
    expect(attempt).toThrow(/cannot decrypt secret for connection:someone-else:password/);
    try {
      attempt();
    } catch (e) {
      expect(String((e as Error).message)).not.toContain(SECRET);
      expect(String((e as Error).stack)).not.toContain(SECRET);
    }
  });

  it('detects tampering with the IV, the tag or the ciphertext', () => {
    const token = box.encrypt(SECRET, AAD);
    for (const part of [1, 2, 3] as const) {
      expect(() => box.decrypt(tamper(token, part), AAD)).toThrow(SecretBoxError);
    }
  });

  it('refuses a ciphertext made with another key', () => {
    const other = createSecretBox(randomBytes(32));
    expect(() => other.decrypt(box.encrypt(SECRET, AAD), AAD)).toThrow(/wrong key/);
  });

  it('explains malformed ciphertexts and keys', () => {
    expect(() => box.decrypt('plaintext-password', AAD)).toThrow(/malformed secret: expected the v1\.<iv>\.<tag>\.<ciphertext> format/);
    expect(() => box.decrypt('v2.a.b.c', AAD)).toThrow(/malformed secret/);
    expect(() => box.decrypt('v1.a+b.c.d', AAD)).toThrow(/base64url/);
    expect(() => box.decrypt('v1.AAAA.AAAA.AAAA', AAD)).toThrow(/IV must be 12 bytes and tag 16 bytes/);
    expect(() => createSecretBox(randomBytes(16))).toThrow(/key must be 32 bytes, got 16/);
  });

  it('keeps its own copy of the key', () => {
    const key = randomBytes(32);
    const own = createSecretBox(key);
    const token = own.encrypt(SECRET, AAD);
    key.fill(0);
    expect(own.decrypt(token, AAD)).toBe(SECRET);
  });
});

describe('secrets key', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'qec-secrets-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parses SECRETS_KEY and says what is wrong with a bad one', () => {
    const key = randomBytes(32);
    expect(parseSecretsKey(key.toString('base64')).equals(key)).toBe(true);
    expect(parseSecretsKey(` ${key.toString('base64')}\n`).equals(key)).toBe(true);
    expect(() => parseSecretsKey('not base64!')).toThrow(/^SECRETS_KEY must be base64 of 32 random bytes .*not valid base64$/);
    expect(() => parseSecretsKey(randomBytes(16).toString('base64'))).toThrow(/^SECRETS_KEY must decode to 32 bytes .*decodes to 16$/);
    expect(() => parseSecretsKey('')).toThrow(/SECRETS_KEY/);
  });

  it('creates the key file once with mode 0600 and reads the same key afterwards', async () => {
    const file = path.join(dir, 'data', 'secrets.key');
    // Many at once: none may read the file while another is still writing it.
    const created = await Promise.all(Array.from({ length: 20 }, () => loadOrCreateKeyFile(file)));
    expect(created[0]).toHaveLength(32);
    for (const key of created) expect(key.equals(created[0]!)).toBe(true);
    expect(await readdir(path.dirname(file))).toEqual(['secrets.key']);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await loadOrCreateKeyFile(file)).equals(created[0]!)).toBe(true);
    expect(parseSecretsKey(await readFile(file, 'utf8')).equals(created[0]!)).toBe(true);
  });

  it('refuses a key file other users can read', async () => {
    const file = path.join(dir, 'loose.key');
    await writeFile(file, randomBytes(32).toString('base64'));
    await chmod(file, 0o644);
    await expect(loadOrCreateKeyFile(file)).rejects.toThrow(/accessible by other users \(mode 644\); run `chmod 600/);
  });

  it('names a corrupt key file in the error', async () => {
    const file = path.join(dir, 'short.key');
    await writeFile(file, randomBytes(8).toString('base64'), { mode: 0o600 });
    await expect(loadOrCreateKeyFile(file)).rejects.toThrow(`key file ${file} must decode to 32 bytes`);
  });

  it('prefers SECRETS_KEY, falls back to the key file, and fails clearly with neither', async () => {
    const envKey = randomBytes(32);
    const file = path.join(dir, 'fallback.key');
    expect((await loadSecretsKey({ secretsKey: envKey.toString('base64'), keyFile: file })).equals(envKey)).toBe(true);
    const fromFile = await loadSecretsKey({ secretsKey: '', keyFile: file });
    expect(fromFile.equals(await loadOrCreateKeyFile(file))).toBe(true);
    await expect(loadSecretsKey({})).rejects.toThrow(/set SECRETS_KEY/);
  });
});
