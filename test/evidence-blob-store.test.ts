import { createHash } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { InvalidBlobKeyError } from '../evidence/blob-key.js';
import { BlobNotFoundError, type BlobPart, type BlobStore } from '../evidence/blob-store.js';
import { WRITE_BUFFER_BYTES } from '../evidence/hashing-file-sink.js';
import { localHarness, s3Harness, type StoreHarness } from './support/blob-stores.js';
import { describeWhenAvailable } from './support/unavailable.js';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

async function read(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const content = Buffer.from('<HOST><DNS><![CDATA[srv.münchen.example — 暗号 🔒]]></DNS></HOST>\n'.repeat(5000), 'utf8');
/** More than one S3 part (5 MiB), so the S3 store takes its multipart path. */
const large = Buffer.concat(Array.from({ length: 32 }, () => content));
const keyOf = (data: Buffer) => `sha256/${sha256(data).slice(0, 2)}/${sha256(data)}`;

const s3proxy = inject('s3proxy');
const stores: Array<{ name: string; unavailable: string | null; open: () => Promise<StoreHarness> }> = [
  { name: 'local', unavailable: null, open: () => localHarness() },
  { name: 'S3', unavailable: s3proxy.available ? null : s3proxy.reason, open: () => s3Harness(s3proxy) },
];

for (const { name, unavailable, open } of stores) {
  describeWhenAvailable(`the ${name} blob store (shared contract)`, unavailable, () => {
    let harness: StoreHarness;
    let store: BlobStore;
    beforeEach(async () => {
      harness = await open();
      store = harness.store;
    });
    afterEach(async () => {
      await harness.close();
    });

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
      expect(await harness.everything()).toEqual([stat.key]);
    });

    it('streams a blob larger than one upload part, and reads ranges across part boundaries', async () => {
      const stat = await store.put(Readable.from(Array.from({ length: 32 }, () => content)));
      expect(stat).toEqual({ key: keyOf(large), bytes: large.length, sha256: sha256(large) });
      expect((await read(await store.get(stat.key))).equals(large)).toBe(true);
      const boundary = 5 * 1024 * 1024;
      expect((await read(await store.get(stat.key, { start: boundary - 10, end: boundary + 10 }))).equals(large.subarray(boundary - 10, boundary + 10))).toBe(true);
      expect(await harness.everything()).toEqual([stat.key]);
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
      expect(await harness.everything()).toEqual([]);
    });

    it('keeps one copy of identical content', async () => {
      const first = await store.put(Readable.from([content]));
      const second = await store.put(Readable.from([content.subarray(0, 10), content.subarray(10)]));
      expect(second).toEqual(first);
      expect(await harness.everything()).toEqual([first.key]);
    });

    it('shows nothing under a key until the write is complete, even with parts already uploaded', async () => {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      async function* slowly() {
        yield large.subarray(0, 6 * 1024 * 1024);
        await released;
        yield large.subarray(6 * 1024 * 1024);
      }
      const putting = store.put(slowly());
      // The first 6 MiB reach the store's staging (a file, or a multipart upload's first part).
      await vi.waitFor(async () => expect(await harness.staging()).toHaveLength(1), { timeout: 10_000, interval: 20 });
      expect(await store.stat(keyOf(large))).toBeNull();
      expect((await harness.everything()).filter((f) => f.startsWith('sha256/'))).toEqual([]);
      release();
      const stat = await putting;
      expect(await store.stat(stat.key)).toEqual(stat);
      expect(await harness.everything()).toEqual([stat.key]);
    });

    it('leaves nothing behind when the source fails or the caller aborts', async () => {
      async function* failing() {
        yield content.subarray(0, 100);
        throw new Error('connection reset by Qualys');
      }
      await expect(store.put(failing())).rejects.toThrow('connection reset by Qualys');
      expect(await harness.everything()).toEqual([]);

      async function* failingAfterParts() {
        yield large.subarray(0, 11 * 1024 * 1024);
        throw new Error('connection reset after two parts');
      }
      await expect(store.put(failingAfterParts())).rejects.toThrow('connection reset after two parts');
      expect(await harness.everything()).toEqual([]);

      const controller = new AbortController();
      async function* endless() {
        for (;;) {
          yield content;
          controller.abort();
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      await expect(store.put(endless(), { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
      expect(await harness.everything()).toEqual([]);
      await expect(store.put(Readable.from([content]), { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
      expect(await harness.everything()).toEqual([]);
    });

    it('puts ranges of stored blobs and given bytes together as one blob, as put would store them', async () => {
      const a = await store.put(Readable.from([large]));
      const b = await store.put(Readable.from([content]));
      const parts: BlobPart[] = [
        { kind: 'bytes', data: Buffer.from('<HEAD>') },
        // Many read buffers long, and across the S3 store's part boundary.
        { kind: 'range', blobKey: a.key, start: 3, end: large.length - 5 },
        { kind: 'range', blobKey: b.key, start: 10, end: 10 },
        { kind: 'bytes', data: Buffer.alloc(0) },
        { kind: 'range', blobKey: b.key, start: 100, end: 200_000 },
        { kind: 'range', blobKey: a.key, start: 0, end: 7 },
        { kind: 'bytes', data: Buffer.from('</HEAD>') },
      ];
      const whole = Buffer.concat([Buffer.from('<HEAD>'), large.subarray(3, large.length - 5), content.subarray(100, 200_000), large.subarray(0, 7), Buffer.from('</HEAD>')]);
      const stat = await store.putParts(parts);
      expect(stat).toEqual({ key: keyOf(whole), bytes: whole.length, sha256: sha256(whole) });
      expect((await read(await store.get(stat.key))).equals(whole)).toBe(true);
      expect(await harness.everything()).toEqual([a.key, b.key, stat.key].sort());
    });

    it('puts nothing from parts naming a missing blob or a range outside its blob, or when the caller aborts', async () => {
      const { key } = await store.put(Readable.from([content]));
      const missing = keyOf(Buffer.from('never stored'));
      const head: BlobPart = { kind: 'range', blobKey: key, start: 0, end: content.length };
      await expect(store.putParts([head, { kind: 'range', blobKey: missing, start: 0, end: 1 }])).rejects.toBeInstanceOf(BlobNotFoundError);
      await expect(store.putParts([head, { kind: 'range', blobKey: key, start: 5, end: content.length + 1 }])).rejects.toThrow(/range \[5, \d+\) is not inside blob/);
      const controller = new AbortController();
      const putting = store.putParts([head, head, head], { signal: controller.signal });
      controller.abort();
      await expect(putting).rejects.toMatchObject({ name: 'AbortError' });
      await expect(store.putParts([head], { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
      expect(await harness.everything()).toEqual([key]);
    });

    it('stages a blob for a writer, committing it under its key or aborting it without trace', async () => {
      const staged = await store.stage();
      staged.sink.write(content.subarray(0, 100));
      staged.sink.write(content.subarray(100));
      const stat = await staged.commit();
      expect(stat).toEqual({ key: keyOf(content), bytes: content.length, sha256: sha256(content) });
      expect((await read(await store.get(stat.key))).equals(content)).toBe(true);
      await staged.abort();
      expect(await store.stat(stat.key)).toEqual(stat);
      await expect(staged.commit()).rejects.toThrow(/cannot be committed: it is committed/);

      const dropped = await store.stage();
      await new Promise<void>((resolve, reject) => dropped.sink.write(large, (e) => (e ? reject(e) : resolve())));
      await dropped.abort();
      await dropped.abort();
      await expect(dropped.commit()).rejects.toThrow(/cannot be committed: it is aborted/);
      expect(await harness.everything()).toEqual([stat.key]);

      // A writer that gave up and destroyed the sink (as the Qualys client does on an error answer).
      const destroyed = await store.stage();
      destroyed.sink.destroy();
      await destroyed.abort();
      expect(await harness.everything()).toEqual([stat.key]);
    });

    it('rejects every key that is not exactly sha256/<2 hex>/<64 hex>, before touching the store', async () => {
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
      expect(await harness.everything()).toEqual([]);
    });
  });
}

describe('the local blob store', () => {
  let harness: Awaited<ReturnType<typeof localHarness>>;
  let store: BlobStore;
  let root: string;
  beforeEach(async () => {
    harness = await localHarness();
    store = harness.store;
    root = harness.root;
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await harness.close();
  });

  it('keeps each blob as a file named by its key, and an identical put leaves that file untouched', async () => {
    const first = await store.put(Readable.from([content]));
    const file = store.pathOf(first.key)!;
    expect(path.isAbsolute(file)).toBe(true);
    expect(file).toBe(path.join(root, 'sha256', first.sha256.slice(0, 2), first.sha256));
    expect((await fs.readFile(file)).equals(content)).toBe(true);
    const { ino, mtimeMs } = await fs.stat(file);
    await store.put(Readable.from([content.subarray(0, 10), content.subarray(10)]));
    const after = await fs.stat(file);
    expect([after.ino, after.mtimeMs]).toEqual([ino, mtimeMs]);
  });

  it('writes chunks of any size in order through its write buffers, even when the disk lags far behind', async () => {
    // Sizes around the 256 KB write buffers: inside one, across two, larger than all four together.
    const sizes = [1, 7, 65_536, 262_143, 262_144, 262_145, 3, 1_100_000, 300_000, 5];
    const chunks = sizes.map((n, i) => Buffer.alloc(n, i + 1));
    const probe = await fs.open(path.join(root, 'probe'), 'w');
    const fileHandlePrototype = Object.getPrototypeOf(probe) as fs.FileHandle;
    await probe.close();
    const write = fileHandlePrototype.write;
    let writes = 0;
    // Each write waits for a turn of the event loop, so the writer gets far ahead of the disk.
    vi.spyOn(fileHandlePrototype, 'write').mockImplementation(async function (this: fs.FileHandle, ...args: unknown[]) {
      writes += 1;
      await new Promise((resolve) => setImmediate(resolve));
      return (write as (...a: unknown[]) => Promise<unknown>).apply(this, args);
    } as never);
    const staged = await store.stage();
    for (const chunk of chunks) staged.sink.write(chunk);
    const stat = await staged.commit();
    const whole = Buffer.concat(chunks);
    expect(stat).toEqual({ key: keyOf(whole), bytes: whole.length, sha256: sha256(whole) });
    expect((await fs.readFile(store.pathOf(stat.key)!)).equals(whole)).toBe(true);
    // Whole buffers per write call, not one call per chunk.
    expect(writes).toBe(Math.ceil(whole.length / WRITE_BUFFER_BYTES));
  });

  it('joins parts through one reused read buffer without a chunk changing before the sink took it, even when the disk lags far behind', async () => {
    // Every byte differs from its neighbours' chunk, so a buffer read into again too early shows.
    const page = Buffer.from(Array.from({ length: 1_500_000 }, (_, i) => (i * 7 + (i >> 18)) & 0xff));
    const { key } = await store.put(Readable.from([page]));
    const probe = await fs.open(path.join(root, 'probe'), 'w');
    const fileHandlePrototype = Object.getPrototypeOf(probe) as fs.FileHandle;
    await probe.close();
    const write = fileHandlePrototype.write;
    // Each write takes a few milliseconds, so the reader would get far ahead of the disk if it could.
    vi.spyOn(fileHandlePrototype, 'write').mockImplementation(async function (this: fs.FileHandle, ...args: unknown[]) {
      await new Promise((resolve) => setTimeout(resolve, 3));
      return (write as (...a: unknown[]) => Promise<unknown>).apply(this, args);
    } as never);
    const parts: BlobPart[] = [
      { kind: 'range', blobKey: key, start: 1, end: page.length },
      { kind: 'bytes', data: Buffer.from('|') },
      { kind: 'range', blobKey: key, start: 0, end: 300_001 },
    ];
    const stat = await store.putParts(parts);
    const whole = Buffer.concat([page.subarray(1), Buffer.from('|'), page.subarray(0, 300_001)]);
    expect(stat).toEqual({ key: keyOf(whole), bytes: whole.length, sha256: sha256(whole) });
    expect((await fs.readFile(store.pathOf(stat.key)!)).equals(whole)).toBe(true);
  });

  it('fails the blob, and keeps nothing, when the disk refuses a write', async () => {
    const probe = await fs.open(path.join(root, 'probe'), 'w');
    const fileHandlePrototype = Object.getPrototypeOf(probe) as fs.FileHandle;
    await probe.close();
    vi.spyOn(fileHandlePrototype, 'write').mockRejectedValue(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    const staged = await store.stage();
    staged.sink.on('error', () => {});
    for (let i = 0; i < 8; i++) staged.sink.write(Buffer.alloc(200_000, i));
    await expect(staged.commit()).rejects.toThrow(/ENOSPC/);
    await staged.abort();
    expect((await harness.everything()).filter((f) => f !== 'probe')).toEqual([]);
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
      events.push(`rename ${path.relative(root, String(from)).replace(/[A-Za-z0-9-]+\.[0-9a-f-]{36}/, 'ID')} -> ${path.relative(root, String(to))}`);
      return rename(from, to);
    });

    const hash = sha256(content);
    await store.put(Readable.from([content]));
    const blob = path.join('sha256', hash.slice(0, 2), hash);
    // First blob: mkdir created sha256/ and sha256/xx/, so their parents need syncing too.
    expect(events).toEqual([
      expect.stringMatching(/^sync tmp\/[A-Za-z0-9-]+\.[0-9a-f-]{36}\.part$/),
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
});

describeWhenAvailable('the S3 blob store', s3proxy.available ? null : s3proxy.reason, () => {
  it('keeps blobs under its prefix with no file path, and copies a blob above the single-copy limit part by part', async () => {
    // Limits lowered so that an 11 MB blob takes the path a blob over 5 GiB takes in production.
    const harness = await s3Harness(s3proxy, { singleCopyMaxBytes: 6 * 1024 * 1024, copyPartBytes: 5 * 1024 * 1024 });
    try {
      const { store } = harness;
      const stat = await store.put(Readable.from([large]));
      expect(store.pathOf(stat.key)).toBeNull();
      expect(store.objectKey(stat.key)).toBe(`evidence/${stat.key}`);
      expect(await store.sizeOf(`evidence/${stat.key}`)).toBe(large.length);
      expect((await read(await store.get(stat.key))).equals(large)).toBe(true);
      expect(await harness.everything()).toEqual([stat.key]);
    } finally {
      await harness.close();
    }
  });
});
