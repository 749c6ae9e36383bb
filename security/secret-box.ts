/**
 * Authenticated encryption for stored secrets (Qualys passwords, webhook
 * secrets): AES-256-GCM with a random 12-byte IV per message.
 *
 * Format: `v1.<iv>.<tag>.<ciphertext>`, each part base64url. The version
 * prefix lets a later format or key coexist with stored `v1` values.
 *
 * Every ciphertext is bound to the record it belongs to through GCM's
 * associated data (for example `connection:<id>:password`): copying it into
 * another row makes decryption fail instead of silently handing one
 * connection's password to another.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface SecretBox {
  encrypt(plaintext: string, aad: string): string;
  decrypt(ciphertext: string, aad: string): string;
}

export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
}

const VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== KEY_BYTES) {
    throw new SecretBoxError(`secret box key must be ${KEY_BYTES} bytes, got ${key.length}`);
  }
  // A private copy: a caller zeroing or reusing its buffer cannot change ours.
  const secretKey = Buffer.from(key);
  return {
    encrypt(plaintext, aad) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', secretKey, iv);
      cipher.setAAD(Buffer.from(aad, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, iv.toString('base64url'), tag.toString('base64url'), body.toString('base64url')].join('.');
    },
    decrypt(ciphertext, aad) {
      const { iv, tag, body } = parse(ciphertext);
      const decipher = createDecipheriv('aes-256-gcm', secretKey, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretBoxError(
          `cannot decrypt secret for ${aad}: wrong key, altered ciphertext, or ciphertext belonging to another record`,
        );
      }
    },
  };
}

function parse(ciphertext: string): { iv: Buffer; tag: Buffer; body: Buffer } {
  const parts = ciphertext.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) {
    throw new SecretBoxError(`malformed secret: expected the ${VERSION}.<iv>.<tag>.<ciphertext> format`);
  }
  const [, iv, tag, body] = parts as [string, string, string, string];
  if (![iv, tag, body].every((p) => BASE64URL.test(p))) {
    throw new SecretBoxError('malformed secret: parts must be base64url');
  }
  const decoded = { iv: Buffer.from(iv, 'base64url'), tag: Buffer.from(tag, 'base64url'), body: Buffer.from(body, 'base64url') };
  if (decoded.iv.length !== IV_BYTES || decoded.tag.length !== TAG_BYTES) {
    throw new SecretBoxError(`malformed secret: IV must be ${IV_BYTES} bytes and tag ${TAG_BYTES} bytes`);
  }
  return decoded;
}
