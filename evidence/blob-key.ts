/**
 * Content-addressed blob keys: `sha256/<first 2 hex>/<64 hex>`.
 *
 * The two-character fan-out keeps directories small on a local disk; the
 * strict grammar is also the path-traversal guard, since a key is joined to
 * the store's root to form a file path.
 */

const KEY_PATTERN = /^sha256\/([0-9a-f]{2})\/([0-9a-f]{64})$/;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

export class InvalidBlobKeyError extends Error {
  override readonly name = 'InvalidBlobKeyError';
  constructor(readonly key: unknown) {
    super(`invalid blob key ${JSON.stringify(String(key)).slice(0, 120)}: expected "sha256/<2 hex>/<64 lowercase hex>"`);
  }
}

/** The key of the blob whose SHA-256 (lowercase hex) is `sha256`. */
export function blobKeyFor(sha256: string): string {
  if (!SHA256_PATTERN.test(sha256)) throw new TypeError(`sha256 must be 64 lowercase hex characters, got ${JSON.stringify(sha256)}`);
  return `sha256/${sha256.slice(0, 2)}/${sha256}`;
}

/** The SHA-256 a key names; throws InvalidBlobKeyError for anything that is not exactly a key. */
export function sha256OfBlobKey(key: string): string {
  const match = typeof key === 'string' ? KEY_PATTERN.exec(key) : null;
  if (!match || !match[2]!.startsWith(match[1]!)) throw new InvalidBlobKeyError(key);
  return match[2]!;
}

export function isBlobKey(key: unknown): key is string {
  if (typeof key !== 'string') return false;
  const match = KEY_PATTERN.exec(key);
  return match !== null && match[2]!.startsWith(match[1]!);
}
