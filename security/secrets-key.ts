/**
 * Where the secret-box key comes from: `SECRETS_KEY` (base64 of 32 bytes) in
 * production, or, in embedded mode, a key file in the data directory created
 * on first use with owner-only rights (0600).
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

const KEY_BYTES = 32;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses a base64 key; `source` names where it came from in error messages. */
export function parseSecretsKey(value: string, source = 'SECRETS_KEY'): Buffer {
  const text = value.trim();
  if (!BASE64.test(text)) {
    throw new Error(`${source} must be base64 of ${KEY_BYTES} random bytes (e.g. \`openssl rand -base64 32\`); it is not valid base64`);
  }
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new Error(`${source} must decode to ${KEY_BYTES} bytes (e.g. \`openssl rand -base64 32\`); it decodes to ${key.length}`);
  }
  return key;
}

/**
 * Reads the key file, creating it with a fresh random key when missing. An
 * existing file readable by group or others is refused, as ssh refuses a
 * private key with loose rights.
 */
export async function loadOrCreateKeyFile(file: string): Promise<Buffer> {
  await mkdir(path.dirname(file), { recursive: true });
  // Written whole beside it, then linked into place: link fails if the file exists, so two processes starting
  // together never overwrite each other's key, and neither ever reads a key file that is still being written.
  const draft = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(draft, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    await link(draft, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    await rm(draft, { force: true });
  }
  if (process.platform !== 'win32') {
    const mode = (await stat(file)).mode & 0o777;
    if (mode & 0o077) {
      throw new Error(`key file ${file} is accessible by other users (mode ${mode.toString(8)}); run \`chmod 600 ${file}\``);
    }
  }
  return parseSecretsKey(await readFile(file, 'utf8'), `key file ${file}`);
}

/** The key from `SECRETS_KEY` when set, otherwise from the embedded key file. */
export async function loadSecretsKey(opts: { secretsKey?: string; keyFile?: string }): Promise<Buffer> {
  if (opts.secretsKey !== undefined && opts.secretsKey !== '') return parseSecretsKey(opts.secretsKey);
  if (opts.keyFile) return loadOrCreateKeyFile(opts.keyFile);
  throw new Error('no encryption key: set SECRETS_KEY (base64 of 32 bytes) or use the embedded key file');
}
