/**
 * Evidence over real HTTP: metadata and attachments, download integrity
 * (the bytes hash to the ETag, the Repr-Digest and the manifest), byte
 * ranges, revalidation, and the raw Qualys pages behind the sealed file.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findControl } from '../db/controls.js';
import { createRequest } from '../db/requests.js';
import type { EvidenceListItem, EvidenceView } from '../api/schemas/evidence.js';
import type { Manifest } from '../evidence/manifest.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';
import { currentPeriod } from './support/period.js';

let stack: ApiStack;
let evidenceId: string;
/** The manifest as sealing wrote it (evidence/manifest.ts), with its JSON-serialised times. */
let evidence: EvidenceView & { manifest: Manifest };
let full: Buffer;
let requestId: string;

interface Download {
  status: number;
  headers: Headers;
  bytes: Buffer;
}

async function download(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Download> {
  const res = await fetch(`${stack.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${stack.auditorToken}`, ...headers } });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const digestHex = (header: string | null) => Buffer.from(/^sha-256=:([A-Za-z0-9+/=]+):$/.exec(header ?? '')![1]!, 'base64').toString('hex');

beforeAll(async () => {
  stack = await startApiStack({ simulator: { hosts: 80 } });
  const connection = await stack.run.addConnection();
  const fetcher = await stack.run.addHldFetcher(connection, {}, { pageSize: 25, controls: [['PCI DSS v3.2.1', '11.2']], name: 'Quarterly PCI scan' });
  const pci = (await findControl(stack.run.database.db, 'PCI DSS v3.2.1', '11.2'))!;
  const request = await createRequest(stack.run.database.db, { title: 'FY26 PCI', ...currentPeriod(), controlIds: [pci.id] });
  requestId = request.id;
  const { result } = await stack.run.runToEnd(fetcher);
  evidenceId = result.evidence.evidenceId;
  evidence = (await stack.request('GET', `/v1/evidence/${evidenceId}`, { token: stack.auditorToken })).body;
  full = (await download(`/v1/evidence/${evidenceId}/content`)).bytes;
});
afterAll(async () => {
  await stack?.close();
});

describe('evidence metadata', () => {
  it('shows the summary, the manifest and where the evidence is attached', () => {
    expect(evidence).toMatchObject({
      id: evidenceId,
      format: 'XML',
      contentType: 'application/xml',
      complete: true,
      links: { self: `/v1/evidence/${evidenceId}`, content: `/v1/evidence/${evidenceId}/content`, pages: `/v1/evidence/${evidenceId}/pages` },
    });
    expect(evidence.filename).toMatch(/^qualys-quarterly-pci-scan-\d{4}-\d{2}-\d{2}\.xml$/);
    expect(evidence.summary.hosts).toBeGreaterThan(0);
    expect(evidence.manifest.evidence.sha256).toBe(evidence.sha256);
    expect(evidence.manifest.pages.length).toBeGreaterThanOrEqual(2);
    expect(evidence.attachedTo.controls).toEqual([expect.objectContaining({ framework: 'PCI DSS v3.2.1', code: '11.2' })]);
    expect(evidence.attachedTo.requests).toEqual([{ id: requestId, title: 'FY26 PCI', status: 'open' }]);
  });

  it('lists evidence by fetcher without the manifest', async () => {
    const res = await stack.request('GET', `/v1/evidence?fetcherId=${evidence.fetcherId}`, { token: stack.auditorToken });
    expect(res.status).toBe(200);
    expect(res.body.items.map((e: EvidenceListItem) => e.id)).toEqual([evidenceId]);
    expect(res.body.items[0].manifest).toBeUndefined();
    expect(res.body.items[0].sha256).toBe(evidence.sha256);
    const none = await stack.request('GET', '/v1/evidence?fetcherId=nobody', { token: stack.auditorToken });
    expect(none.body).toEqual({ items: [], nextCursor: null });
  });
});

describe('downloading the sealed file', () => {
  it('streams bytes whose SHA-256 equals the ETag, the Repr-Digest and the manifest', async () => {
    const res = await download(`/v1/evidence/${evidenceId}/content`);
    expect(res.status).toBe(200);
    const hash = sha256(res.bytes);
    expect(hash).toBe(evidence.sha256);
    expect(hash).toBe(evidence.manifest.evidence.sha256);
    expect(res.headers.get('etag')).toBe(`"${hash}"`);
    expect(digestHex(res.headers.get('repr-digest'))).toBe(hash);
    expect(res.headers.get('content-length')).toBe(String(evidence.bytes));
    expect(res.bytes.length).toBe(evidence.bytes);
    expect(res.headers.get('content-type')).toBe('application/xml');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${evidence.filename}"`);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('cache-control')).toBe('private');
    expect(res.bytes.toString('utf8')).toContain('<HOST_LIST_VM_DETECTION_OUTPUT>');
  });

  it('serves byte ranges (first byte, middle, suffix) that reassemble into the whole file', async () => {
    const n = full.length;
    const first = await download(`/v1/evidence/${evidenceId}/content`, { range: 'bytes=0-0' });
    const middle = await download(`/v1/evidence/${evidenceId}/content`, { range: `bytes=1-${n - 101}` });
    const suffix = await download(`/v1/evidence/${evidenceId}/content`, { range: 'bytes=-100' });
    for (const part of [first, middle, suffix]) {
      expect(part.status).toBe(206);
      expect(part.headers.get('etag')).toBe(`"${evidence.sha256}"`);
      expect(part.headers.get('content-length')).toBe(String(part.bytes.length));
    }
    expect(first.headers.get('content-range')).toBe(`bytes 0-0/${n}`);
    expect(middle.headers.get('content-range')).toBe(`bytes 1-${n - 101}/${n}`);
    expect(suffix.headers.get('content-range')).toBe(`bytes ${n - 100}-${n - 1}/${n}`);
    const whole = Buffer.concat([first.bytes, middle.bytes, suffix.bytes]);
    expect(sha256(whole)).toBe(evidence.sha256);

    const open = await download(`/v1/evidence/${evidenceId}/content`, { range: `bytes=${n - 10}-` });
    expect(open.status).toBe(206);
    expect(open.bytes.equals(full.subarray(n - 10))).toBe(true);
    const past = await download(`/v1/evidence/${evidenceId}/content`, { range: `bytes=${n - 5}-${n + 1000}` });
    expect(past.status).toBe(206);
    expect(past.bytes.equals(full.subarray(n - 5))).toBe(true);
  });

  it('answers 304 when If-None-Match names the current ETag', async () => {
    for (const tag of [`"${evidence.sha256}"`, `W/"${evidence.sha256}"`, `"other", "${evidence.sha256}"`, '*']) {
      const res = await download(`/v1/evidence/${evidenceId}/content`, { 'if-none-match': tag });
      expect(res.status, tag).toBe(304);
      expect(res.bytes.length).toBe(0);
      expect(res.headers.get('etag')).toBe(`"${evidence.sha256}"`);
    }
    const stale = await download(`/v1/evidence/${evidenceId}/content`, { 'if-none-match': '"0000"' });
    expect(stale.status).toBe(200);
  });

  it('answers 416 for ranges it cannot serve', async () => {
    const n = full.length;
    for (const range of [`bytes=${n}-`, `bytes=${n + 10}-${n + 20}`, 'bytes=0-1,5-6', 'bytes=abc', 'bytes=9-3', 'bytes=-0', 'bytes=']) {
      const res = await stack.request('GET', `/v1/evidence/${evidenceId}/content`, { token: stack.auditorToken, headers: { range } });
      expect(res.status, range).toBe(416);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.type).toBe('/problems/range-not-satisfiable');
      expect(res.headers.get('content-range')).toBe(`bytes */${n}`);
    }
  });

  it('sends the whole file for a stale If-Range or an unknown range unit', async () => {
    const stale = await download(`/v1/evidence/${evidenceId}/content`, { range: 'bytes=0-9', 'if-range': '"not-the-etag"' });
    expect(stale.status).toBe(200);
    expect(stale.bytes.length).toBe(full.length);
    const current = await download(`/v1/evidence/${evidenceId}/content`, { range: 'bytes=0-9', 'if-range': `"${evidence.sha256}"` });
    expect(current.status).toBe(206);
    const unit = await download(`/v1/evidence/${evidenceId}/content`, { range: 'items=0-9' });
    expect(unit.status).toBe(200);
  });

  it('answers HEAD with the headers only', async () => {
    const res = await download(`/v1/evidence/${evidenceId}/content`, {}, 'HEAD');
    expect(res.status).toBe(200);
    expect(res.bytes.length).toBe(0);
    expect(res.headers.get('content-length')).toBe(String(full.length));
    expect(res.headers.get('etag')).toBe(`"${evidence.sha256}"`);
  });
});

describe('raw Qualys pages', () => {
  it('lists the manifest pages and serves each one with the hash the manifest recorded', async () => {
    const res = await stack.request('GET', `/v1/evidence/${evidenceId}/pages`, { token: stack.auditorToken });
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(evidence.manifest.pages.length);
    for (const [i, page] of res.body.items.entries()) {
      const recorded = evidence.manifest.pages[i];
      expect(page).toMatchObject({ pageNo: i + 1, sha256: recorded.sha256, bytes: recorded.bytes, idMin: recorded.idMin });
      const raw = await download(page.links.content);
      expect(raw.status).toBe(200);
      expect(sha256(raw.bytes)).toBe(recorded.sha256);
      expect(raw.headers.get('etag')).toBe(`"${recorded.sha256}"`);
      expect(digestHex(raw.headers.get('repr-digest'))).toBe(recorded.sha256);
      expect(raw.headers.get('content-disposition')).toBe(
        `attachment; filename="${evidence.filename.replace(/\.xml$/, '')}-page-${String(i + 1).padStart(4, '0')}.xml"`,
      );
    }
    const pageTwoTail = await download(res.body.items[1].links.content, { range: 'bytes=-50' });
    expect(pageTwoTail.status).toBe(206);
  });

  it('answers 404 for a page that does not exist and 422 for a page number that is not one', async () => {
    const missing = await stack.request('GET', `/v1/evidence/${evidenceId}/pages/999/content`, { token: stack.auditorToken });
    expect(missing.status).toBe(404);
    for (const pageNo of ['0', 'abc', '1.5']) {
      const bad = await stack.request('GET', `/v1/evidence/${evidenceId}/pages/${pageNo}/content`, { token: stack.auditorToken });
      expect(bad.status, pageNo).toBe(422);
      expect(bad.body.errors[0].field).toBe('param.pageNo');
    }
  });
});

describe('CSV evidence', () => {
  it('downloads as text/csv with a .csv name', async () => {
    const connection = await stack.run.addConnection();
    const fetcher = await stack.run.addHldFetcher(connection, { format: 'CSV' }, { pageSize: 40 });
    const { result } = await stack.run.runToEnd(fetcher);
    const res = await download(`/v1/evidence/${result.evidence.evidenceId}/content`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv');
    expect(res.headers.get('content-disposition')).toMatch(/filename="qualys-.+\.csv"$/);
    expect(sha256(res.bytes)).toBe(result.evidence.sha256);
  });
});

describe('refusals', () => {
  it('answers 404 for unknown evidence on every endpoint', async () => {
    for (const path of ['/v1/evidence/nope', '/v1/evidence/nope/content', '/v1/evidence/nope/pages', '/v1/evidence/nope/pages/1/content']) {
      const res = await stack.request('GET', path, { token: stack.auditorToken });
      expect(res.status, path).toBe(404);
      expect(res.body.type).toBe('/problems/not-found');
    }
  });

  it('answers 401 without a key', async () => {
    for (const path of ['/v1/evidence', `/v1/evidence/${evidenceId}`, `/v1/evidence/${evidenceId}/content`, `/v1/evidence/${evidenceId}/pages`]) {
      const res = await stack.request('GET', path, { token: null });
      expect(res.status, path).toBe(401);
    }
  });
});
