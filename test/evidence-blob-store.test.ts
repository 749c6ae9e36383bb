import { createHash } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidBlobKeyError } from '../evidence/blob-key.js';
import { BlobNotFoundError, type BlobStore } from '../evidence/blob-store.js';
import { createLocalBlobStore } from '../evidence/local-blob-store.js';

let root: string;
let store: BlobStore;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'evidence-blobs-'));
  store = createLocalBlobStore(root);
});
afterEach(async () => {
  vi.restoreAllMocks();
  await fs.rm(root, { recursive: true, force: true });
});

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

async function read(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Every file under the store's root, relative, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

const content = Buffer.from('<HOST><DNS><![CDATA[srv.münchen.example — 暗号 🔒]]></DNS></HOST>\n'.repeat(5000), 'utf8');

describe('the local blob store', () => {
  it('stores a stream under its SHA-256 and gives it back whole or by range', async () => {
    const stat = await store.put(Readable.from([content.subarray(0, 1000), content.subarray(1000)]));
    const hash = sha256(content);
    expect(stat).toEqual({ key: `sha256/${hash.slice(0, 2)}/${hash}`, bytes: content.length, sha256: hash });
    expect(await store.stat(stat.key)).toEqual(stat);
    expect((await read(await store.get(stat.key))).equals(content)).toBe(true);
    expect((await read(await store.get(stat.key, { start: 7, end: 1234 }))).equals(content.subarray(7, 1234))).toBe(true);
    expect((await read(await store.get(stat.key, { start: 300_000 }))).equals(content.subarray(300_000))).toBe(true);
    expect(await read(await store.get(stat.key, { start: 10, end: 10 }))).toHaveLength(0);
    expect(await read(await store.get(stat.key, { start: content.length }))).toHaveLength(0);

    const file = store.pathOf(stat.key)!;
    expect(path.isAbsolute(file)).toBe(true);
    expect(file).toBe(path.join(root, 'sha256', hash.slice(0, 2), hash));
    expect((await fs.readFile(file)).equals(content)).toBe(true);
  });

  it('accepts async iterables and empty content', async () => {
    async function* chunks() {
      yield Buffer.from('a');
      yield new Uint8Array([0x62, 0x63]);
    }
    expect((await store.put(chunks())).sha256).toBe(sha256('abc'));
    const empty = await store.put(Readable.from([]));
    expect(empty).toMatchObject({ bytes: 0, sha256: sha256('') });
    expect(await read(await store.get(empty.key))).toHaveLength(0);
  });

  it('rejects ranges outside the blob', async () => {
    const { key } = await store.put(Readable.from([Buffer.from('0123456789')]));
    for (const range of [{ start: -1 }, { start: 4, end: 3 }, { start: 0, end: 11 }, { start: 11 }, { start: 1.5 }]) {
      await expect(store.get(key, range)).rejects.toThrow(RangeError);
    }
    await expect(store.get(key, { start: 0, end: 11 })).rejects.toThrow(/range \[0, 11\) is not inside blob .* of 10 bytes/);
  });

  it('reports missing blobs: get throws BlobNotFoundError, stat gives null, delete is a no-op', async () => {
    const { key } = await store.put(Readable.from([Buffer.from('to be deleted')]));
    await store.delete(key);
    expect(await store.stat(key)).toBeNull();
    await expect(store.get(key)).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.delete(key)).resolves.toBeUndefined();
    expect(await filesUnder(root)).toEqual([]);
  });

  it('keeps one copy of identical content and leaves the stored file untouched', async () => {
    const first = await store.put(Readable.from([content]));
    const { ino, mtimeMs } = await fs.stat(store.pathOf(first.key)!);
    const second = await store.put(Readable.from([content.subarray(0, 10), content.subarray(10)]));
    expect(second).toEqual(first);
    const after = await fs.stat(store.pathOf(first.key)!);
    expect([after.ino, after.mtimeMs]).toEqual([ino, mtimeMs]);
    expect(await filesUnder(root)).toEqual([path.join('sha256', first.sha256.slice(0, 2), first.sha256)]);
  });

  it('shows nothing under a key until the write is complete', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    async function* slowly() {
      yield content.subarray(0, 5000);
      await released;
      yield content.subarray(5000);
    }
    const putting = store.put(slowly());
    // Wait until the first chunk sits in the staging file.
    for (let i = 0; i < 100 && (await stagingFiles()).every((f) => f.size < 5000); i++) await new Promise((r) => setTimeout(r, 10));
    const staging = await stagingFiles();
    expect(staging).toHaveLength(1);
    expect(staging[0]!.size).toBe(5000);
    expect(await store.stat(`sha256/${sha256(content).slice(0, 2)}/${sha256(content)}`)).toBeNull();
    expect((await filesUnder(root)).filter((f) => !f.startsWith('tmp'))).toEqual([]);
    release();
    const stat = await putting;
    expect(await store.stat(stat.key)).toEqual(stat);
    expect(await stagingFiles()).toEqual([]);
  });

  async function stagingFiles(): Promise<Array<{ name: string; size: number }>> {
    const dir = path.join(root, 'tmp');
    const names = await fs.readdir(dir).catch(() => []);
    return Promise.all(names.map(async (name) => ({ name, size: (await fs.stat(path.join(dir, name))).size })));
  }

  it('leaves nothing behind when the source fails or the caller aborts', async () => {
    async function* failing() {
      yield content.subarray(0, 100);
      throw new Error('connection reset by Qualys');
    }
    await expect(store.put(failing())).rejects.toThrow('connection reset by Qualys');
    expect(await filesUnder(root)).toEqual([]);

    const controller = new AbortController();
    async function* endless() {
      for (;;) {
        yield content;
        controller.abort();
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    await expect(store.put(endless(), { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(await filesUnder(root)).toEqual([]);
    await expect(store.put(Readable.from([content]), { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(await filesUnder(root)).toEqual([]);
  });

  it('stages a blob for a writer, committing it under its key or aborting it without trace', async () => {
    const staged = await store.stage();
    staged.sink.write(content.subarray(0, 100));
    staged.sink.write(content.subarray(100));
    const stat = await staged.commit();
    expect(stat).toEqual({ key: `sha256/${sha256(content).slice(0, 2)}/${sha256(content)}`, bytes: content.length, sha256: sha256(content) });
    expect((await read(await store.get(stat.key))).equals(content)).toBe(true);
    await staged.abort();
    expect(await store.stat(stat.key)).toEqual(stat);
    await expect(staged.commit()).rejects.toThrow(/cannot be committed: it is committed/);

    const dropped = await store.stage();
    await new Promise<void>((resolve, reject) => dropped.sink.write(Buffer.from('half a page'), (e) => (e ? reject(e) : resolve())));
    await dropped.abort();
    await dropped.abort();
    await expect(dropped.commit()).rejects.toThrow(/cannot be committed: it is aborted/);
    expect(await filesUnder(root)).toEqual([path.join('sha256', stat.sha256.slice(0, 2), stat.sha256)]);
  });

  it('syncs the staged file before the rename and every directory the rename touched after it', async () => {
    const events: string[] = [];
    const probe = await fs.open(path.join(root, 'probe'), 'w');
    const fileHandlePrototype = Object.getPrototypeOf(probe) as fs.FileHandle;
    await probe.close();
    await fs.rm(path.join(root, 'probe'));
    const sync = fileHandlePrototype.sync;
    vi.spyOn(fileHandlePrototype, 'sync').mockImplementation(function (this: fs.FileHandle) {
      events.push(`sync ${path.relative(root, readlinkSync(`/proc/self/fd/${this.fd}`)) || '.'}`);
      return sync.call(this);
    });
    const rename = fs.rename;
    vi.spyOn(fs, 'rename').mockImplementation(async (from, to) => {
      events.push(`rename ${path.relative(root, String(from)).replace(/[0-9a-f-]{36}/, 'ID')} -> ${path.relative(root, String(to))}`);
      return rename(from, to);
    });

    const hash = sha256(content);
    await store.put(Readable.from([content]));
    const blob = path.join('sha256', hash.slice(0, 2), hash);
    // First blob: mkdir created sha256/ and sha256/xx/, so their parents need syncing too.
    expect(events).toEqual([
      expect.stringMatching(/^sync tmp\/[0-9a-f-]{36}\.part$/),
      `rename tmp/ID.part -> ${blob}`,
      `sync ${path.dirname(blob)}`,
      'sync sha256',
      'sync .',
    ]);

    events.length = 0;
    const other = Buffer.from('another page');
    const otherHash = sha256(other);
    await store.put(Readable.from([other]));
    const otherDir = path.join('sha256', otherHash.slice(0, 2));
    expect(events.slice(1)).toEqual([`rename tmp/ID.part -> ${path.join(otherDir, otherHash)}`, `sync ${otherDir}`, 'sync sha256']);
  });

  it('rejects every key that is not exactly sha256/<2 hex>/<64 hex>, before touching the disk', async () => {
    const hash = sha256('x');
    const bad = [
      '',
      '../../etc/passwd',
      `/sha256/${hash.slice(0, 2)}/${hash}`,
      `sha256/${hash.slice(0, 2)}/${hash}/`,
      `sha256/${hash.slice(0, 2)}/../${hash}`,
      `sha256/${hash.slice(0, 2)}/${hash.slice(0, 63)}`,
      `sha256/${hash.slice(0, 2)}/${hash}0`,
      `sha256/${hash.slice(0, 2).toUpperCase()}/${hash.toUpperCase()}`,
      `sha256/zz/${hash}`,
      `sha256/${hash.slice(0, 2) === 'ab' ? 'cd' : 'ab'}/${hash}`,
      `md5/${hash.slice(0, 2)}/${hash}`,
      `sha256\\${hash.slice(0, 2)}\\${hash}`,
    ];
    for (const key of bad) {
      await expect(store.get(key), key).rejects.toBeInstanceOf(InvalidBlobKeyError);
      await expect(store.stat(key), key).rejects.toBeInstanceOf(InvalidBlobKeyError);
      await expect(store.delete(key), key).rejects.toBeInstanceOf(InvalidBlobKeyError);
      expect(() => store.pathOf(key), key).toThrow(InvalidBlobKeyError);
    }
    expect(await fs.readdir(root)).toEqual([]);
  });
});
