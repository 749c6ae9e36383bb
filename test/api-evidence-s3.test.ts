/**
 * Evidence kept in the S3 store (the run's S3Proxy), served by the API as
 * from the local store: whole downloads whose bytes hash to the ETag, the
 * Repr-Digest and the manifest; byte ranges; the raw Qualys pages.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { EvidenceView } from '../api/schemas/evidence.js';
import type { Manifest } from '../evidence/manifest.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';
import { s3Harness, type StoreHarness } from './support/blob-stores.js';
import { describeWhenAvailable } from './support/unavailable.js';

const s3proxy = inject('s3proxy');
let stack: ApiStack;
let s3: StoreHarness;
let evidence: EvidenceView & { manifest: Manifest };

async function download(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${stack.baseUrl}${path}`, { headers: { authorization: `Bearer ${stack.auditorToken}`, ...headers } });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const digestHex = (header: string | null) => Buffer.from(/^sha-256=:([A-Za-z0-9+/=]+):$/.exec(header ?? '')![1]!, 'base64').toString('hex');

describeWhenAvailable('evidence in the S3 store, over the API', s3proxy.available ? null : s3proxy.reason, () => {
  beforeAll(async () => {
    s3 = await s3Harness(s3proxy);
    stack = await startApiStack({ simulator: { hosts: 80 }, blobStore: s3.store });
    const connection = await stack.run.addConnection();
    const fetcher = await stack.run.addHldFetcher(connection, {}, { pageSize: 25 });
    const { result } = await stack.run.runToEnd(fetcher);
    evidence = (await stack.request('GET', `/v1/evidence/${result.evidence.evidenceId}`, { token: stack.auditorToken })).body;
  });
  afterAll(async () => {
    await stack?.close();
    await s3?.close();
  });

  it('keeps the pages and the sealed file in the bucket, and nothing in staging', async () => {
    const keys = await s3.everything();
    expect(keys).toContain(evidence.manifest.evidence.blobKey);
    for (const page of evidence.manifest.pages) expect(keys).toContain(page.blobKey);
    expect(keys.filter((k) => !k.startsWith('sha256/'))).toEqual([]);
  });

  it('streams the sealed file with its SHA-256 as ETag and Repr-Digest, and byte ranges that reassemble into it', async () => {
    const whole = await download(`/v1/evidence/${evidence.id}/content`);
    expect(whole.status).toBe(200);
    expect(sha256(whole.bytes)).toBe(evidence.sha256);
    expect(whole.headers.get('etag')).toBe(`"${evidence.sha256}"`);
    expect(digestHex(whole.headers.get('repr-digest'))).toBe(evidence.sha256);
    const n = whole.bytes.length;
    const parts = [
      await download(`/v1/evidence/${evidence.id}/content`, { range: 'bytes=0-0' }),
      await download(`/v1/evidence/${evidence.id}/content`, { range: `bytes=1-${n - 101}` }),
      await download(`/v1/evidence/${evidence.id}/content`, { range: 'bytes=-100' }),
    ];
    for (const part of parts) expect(part.status).toBe(206);
    expect(parts[1]!.headers.get('content-range')).toBe(`bytes 1-${n - 101}/${n}`);
    expect(Buffer.concat(parts.map((p) => p.bytes)).equals(whole.bytes)).toBe(true);
    expect((await download(`/v1/evidence/${evidence.id}/content`, { range: `bytes=${n}-` })).status).toBe(416);
  });

  it('serves the raw Qualys pages named in the manifest', async () => {
    const page = evidence.manifest.pages[1]!;
    const raw = await download(`/v1/evidence/${evidence.id}/pages/${page.pageNo}/content`);
    expect(raw.status).toBe(200);
    expect(sha256(raw.bytes)).toBe(page.sha256);
    const tail = await download(`/v1/evidence/${evidence.id}/pages/${page.pageNo}/content`, { range: 'bytes=-64' });
    expect(tail.bytes.equals(raw.bytes.subarray(raw.bytes.length - 64))).toBe(true);
  });
});
