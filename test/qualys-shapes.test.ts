/**
 * The readers, the kernel post-filter and the sealer over hand-written
 * answers in the shapes real Qualys answers come in: detections without
 * PORT/PROTOCOL, SEVERITY or STATUS, agent hosts without durations, IPv6,
 * the API 2.0 element order, trial comments around the root, 32-column CSV
 * with bare cells, suppressed CSV with host-only rows, and error documents
 * without an XML declaration.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { SaxesParser } from 'saxes';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from '../evidence/blob-store.js';
import { createLocalBlobStore } from '../evidence/local-blob-store.js';
import { sealPages } from '../evidence/seal.js';
import { readDetectionPage } from '../qualys/detection-page-reader.js';
import { QualysAuthError, QualysProtocolError } from '../qualys/errors.js';
import { addSummaries, type PageSummary } from '../qualys/page-summary.js';
import { chunksOf, CollectingSink, fixture } from './fixtures/qualys/helpers.js';

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/** Counts every bucket of a summary: each must add up to the detections. */
function expectTotalsAddUp(summary: PageSummary): void {
  expect(sum(summary.severity)).toBe(summary.detections);
  expect(sum(summary.status)).toBe(summary.detections);
  expect(sum(summary.type)).toBe(summary.detections);
  expect(sum(summary.matrix)).toBe(summary.detections);
}

/** HOST ids and DETECTION counts from a strict parse: a count independent of the reader. */
function xmlCounts(xml: Buffer): { hostIds: number[]; detections: number } {
  const parser = new SaxesParser();
  const stack: string[] = [];
  const hostIds: number[] = [];
  let detections = 0;
  let text = '';
  parser.on('opentag', (tag) => {
    stack.push(tag.name);
    text = '';
    if (tag.name === 'DETECTION') detections++;
  });
  parser.on('text', (t) => (text += t));
  parser.on('closetag', (tag) => {
    if (tag.name === 'ID' && stack.at(-2) === 'HOST') hostIds.push(Number(text));
    stack.pop();
  });
  parser.write(xml.toString('utf8')).close();
  return { hostIds, detections };
}

describe('reading answers in every shape Qualys sends', () => {
  it('counts detections without SEVERITY or STATUS in the `none` bucket, so every total adds up (XML, trial comments, agent host, IPv6)', async () => {
    const doc = fixture('hld-shapes.xml');
    const sink = new CollectingSink();
    const { summary } = await readDetectionPage(chunksOf(doc, 97), { sink });
    expect(sink.bytes.equals(doc)).toBe(true);
    expect(summary).toMatchObject({ hosts: 3, detections: 7, minHostId: 501, maxHostId: 503, datetime: '2026-05-04T08:15:30Z', truncated: false });
    expect(summary.severity).toEqual({ '1': 0, '2': 1, '3': 2, '4': 2, '5': 1, none: 1, other: 0 });
    expect(summary.status).toEqual({ New: 1, Active: 3, Fixed: 1, 'Re-Opened': 1, none: 1, other: 0 });
    expect(summary.type).toEqual({ Confirmed: 4, Potential: 1, Info: 2, none: 0, other: 0 });
    expect(summary.matrix['none|Active|Info']).toBe(1);
    expect(summary.matrix['2|none|Info']).toBe(1);
    expectTotalsAddUp(summary);
    expect(xmlCounts(doc)).toEqual({ hostIds: [501, 502, 503], detections: 7 });
  });

  it('reads the API 2.0 order (TIMES_FOUND after IS_DISABLED) and its truncation warning', async () => {
    const { summary } = await readDetectionPage(chunksOf(fixture('hld-legacy.xml'), 13));
    expect(summary).toMatchObject({ hosts: 1, detections: 2, truncated: true, nextIdMin: 7004 });
    expect(summary.severity).toMatchObject({ '1': 1, '4': 1, none: 0 });
    expectTotalsAddUp(summary);
  });

  it('reads 32-column CSV with bare cells, a multi-line quoted cell and empty Severity/Status cells', async () => {
    const doc = fixture('hld-v2-unquoted.csv');
    const { summary } = await readDetectionPage(chunksOf(doc, 11));
    expect(summary).toMatchObject({ format: 'CSV', hosts: 2, detections: 4, minHostId: 8101, maxHostId: 8107, truncated: false });
    expect(summary.severity).toEqual({ '1': 1, '2': 1, '3': 1, '4': 0, '5': 0, none: 1, other: 0 });
    expect(summary.status).toEqual({ New: 1, Active: 2, Fixed: 0, 'Re-Opened': 0, none: 1, other: 0 });
    expectTotalsAddUp(summary);
    const rows = parse(doc.toString('utf8').split('----BEGIN_RESPONSE_BODY_CSV\n')[1]!.split('----END_RESPONSE_BODY_CSV')[0]!, { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(rows[0]!)).toHaveLength(32);
    expect(rows).toHaveLength(summary.detections);
  });

  it('counts host-only rows of suppressed CSV as hosts (one without detections too) and their detection rows once', async () => {
    const doc = fixture('hld-suppressed-host-rows.csv');
    const [one, seven, big] = await Promise.all([1, 7, 65536].map((size) => readDetectionPage(chunksOf(doc, size))));
    expect(one!.summary).toEqual(big!.summary);
    expect(seven!.summary).toEqual(big!.summary);
    const { summary } = big!;
    expect(summary).toMatchObject({ hosts: 3, detections: 5, minHostId: 9001, maxHostId: 9005, truncated: true, nextIdMin: 9006 });
    expect(summary.severity).toMatchObject({ none: 1 });
    expect(summary.status).toMatchObject({ none: 1, 'Re-Opened': 1 });
    expectTotalsAddUp(summary);
  });

  it('turns login and account error documents without an XML declaration into their typed errors', async () => {
    const login = await readDetectionPage(chunksOf(fixture('error-login.xml'), 16), { httpStatus: 401 }).catch((e: unknown) => e);
    expect(login).toBeInstanceOf(QualysAuthError);
    expect(login).toMatchObject({ code: 2000, reason: 'bad_credentials' });
    const expired = await readDetectionPage(chunksOf(fixture('error-expired.xml'), 16), { httpStatus: 200 }).catch((e: unknown) => e);
    expect(expired).toMatchObject({ name: 'QualysAuthError', code: 2001, reason: 'account_expired' });
    expect((expired as Error).message).toContain('This account has expired.');
  });
});

describe('the kernel-only post-filter (running-kernel option 4 on API 3.0+)', () => {
  it('keeps only detections with AFFECT_RUNNING_KERNEL and drops hosts left without one, byte for byte elsewhere', async () => {
    const doc = fixture('hld-shapes.xml');
    for (const size of [1, 50, 65536]) {
      const sink = new CollectingSink();
      const { summary, bytes } = await readDetectionPage(chunksOf(doc, size), { sink, postFilter: 'kernel-related' });
      const kept = sink.bytes;
      expect(bytes).toBe(kept.length);
      expect(xmlCounts(kept)).toEqual({ hostIds: [501, 502], detections: 2 });
      expect(summary).toMatchObject({ hosts: 2, detections: 2, minHostId: 501, maxHostId: 502 });
      const text = kept.toString('utf8');
      expect(text).toContain('<QID>376200</QID>');
      expect(text).toContain('<QID>376311</QID>');
      expect(text).not.toContain('<QID>45038</QID>');
      // What is left is the original with whole elements (and their indentation) cut out.
      expect(text.startsWith(doc.toString('utf8').slice(0, doc.indexOf('<HOST_LIST>')))).toBe(true);
      expect(text.endsWith('</HOST_LIST>\n  </RESPONSE>\n</HOST_LIST_VM_DETECTION_OUTPUT>\n<!-- End of evaluation data. -->\n')).toBe(true);
      expect(text).toContain('<DETECTION_LIST>\n          <DETECTION>\n            <UNIQUE_VULN_ID>91000001</UNIQUE_VULN_ID>');
      expect(text).toContain('</DETECTION>\n        </DETECTION_LIST>');
    }
  });

  it('keeps the truncation warning, so paging goes on where Qualys said', async () => {
    const { summary } = await readDetectionPage(chunksOf(fixture('hld-legacy.xml'), 64), { postFilter: 'kernel-related' });
    expect(summary).toMatchObject({ hosts: 1, detections: 1, truncated: true, nextIdMin: 7004 });
  });

  it('filters suppressed CSV: a host row goes out only with a kept detection', async () => {
    const sink = new CollectingSink();
    const { summary } = await readDetectionPage(chunksOf(fixture('hld-suppressed-host-rows.csv'), 33), { sink, postFilter: 'kernel-related' });
    expect(summary).toMatchObject({ hosts: 1, detections: 1, minHostId: 9001, maxHostId: 9001, truncated: true, nextIdMin: 9006 });
    const body = sink.bytes.toString('utf8').split('----BEGIN_RESPONSE_BODY_CSV\n')[1]!.split('----END_RESPONSE_BODY_CSV')[0]!;
    const rows = parse(body, { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((r) => [r['Host ID'], r['QID'], r['Affect Running Kernel']])).toEqual([
      ['9001', '', ''],
      ['', '376500', '1'],
    ]);
  });

  it('refuses CSV without the Affect Running Kernel column rather than guess', async () => {
    const err = await readDetectionPage(chunksOf(fixture('hld-v2-unquoted.csv'), 100), { postFilter: 'kernel-related' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QualysProtocolError);
    expect((err as Error).message).toMatch(/no "Affect Running Kernel" column/);
  });
});

describe('sealing pages in these shapes', () => {
  let root: string;
  let store: BlobStore;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'seal-shapes-'));
    store = createLocalBlobStore(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function sealed(format: 'XML' | 'CSV', pages: Buffer[]): Promise<{ bytes: Buffer; summaries: PageSummary[] }> {
    const refs = [];
    const summaries = [];
    for (const page of pages) {
      const { summary } = await readDetectionPage(chunksOf(page, 4096));
      summaries.push(summary);
      refs.push({ blobKey: (await store.put(Readable.from([page]))).key, layout: summary.layout });
    }
    const { key } = await sealPages({ store, format, pages: refs });
    const chunks: Buffer[] = [];
    for await (const chunk of await store.get(key)) chunks.push(chunk as Buffer);
    return { bytes: Buffer.concat(chunks), summaries };
  }

  it('merges an API 2.0 page and a trial page into one document whose recount equals the added page summaries', async () => {
    const { bytes, summaries } = await sealed('XML', [fixture('hld-legacy.xml'), fixture('hld-shapes.xml')]);
    expect(xmlCounts(bytes)).toEqual({ hostIds: [7001, 501, 502, 503], detections: 9 });
    const total = summaries.reduce(addSummaries);
    const { summary } = await readDetectionPage(chunksOf(bytes, 4096));
    expect({ ...summary, layout: null, datetime: null }).toEqual({ ...total, layout: null, datetime: null, truncated: false, nextIdMin: null, nextUrl: null });
    expect(bytes.toString('utf8')).not.toContain('<WARNING>');
  });

  it('merges suppressed CSV pages with host-only rows, keeping every host row and every detection once', async () => {
    const first = fixture('hld-suppressed-host-rows.csv');
    const second = Buffer.from(
      first
        .toString('utf8')
        .replaceAll('"900', '"910')
        .replace(/"Status Message","Next ID","Next URL"\n"Truncated".*\n/, '"Status Message"\n"Finished"\n'),
    );
    const { bytes, summaries } = await sealed('CSV', [first, second]);
    const body = bytes.toString('utf8').split('----BEGIN_RESPONSE_BODY_CSV\n')[1]!.split('----END_RESPONSE_BODY_CSV')[0]!;
    const rows = parse(body, { columns: true }) as Array<Record<string, string>>;
    // Independent count: host rows have a Host ID, detection rows a QID.
    expect(rows.filter((r) => r['Host ID'] !== '').map((r) => Number(r['Host ID']))).toEqual([9001, 9002, 9005, 9101, 9102, 9105]);
    expect(rows.filter((r) => r['QID'] !== '')).toHaveLength(10);
    const { summary } = await readDetectionPage(chunksOf(bytes, 4096));
    expect(summary).toMatchObject({ hosts: 6, detections: 10, truncated: false });
    expect(summary.severity).toEqual(summaries.reduce(addSummaries).severity);
  });
});
