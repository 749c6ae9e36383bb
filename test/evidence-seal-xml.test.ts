import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { SaxesParser } from 'saxes';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from '../evidence/blob-store.js';
import { createLocalBlobStore } from '../evidence/local-blob-store.js';
import type { XmlLayout } from '../qualys/page-summary.js';
import { SealError, sealPages } from '../evidence/seal.js';
import { hldHostXml, xmlLayoutOf, xmlPage } from './evidence-pages.js';

let root: string;
let store: BlobStore;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'evidence-seal-xml-'));
  store = createLocalBlobStore(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function storePage(bytes: Buffer, layout: XmlLayout = xmlLayoutOf(bytes)) {
  const { key } = await store.put(Readable.from([bytes]));
  return { blobKey: key, layout };
}

async function readBlob(key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The text of every <ID> directly inside a <HOST>, in document order, from a strict parse. */
function hostIds(xml: Buffer): number[] {
  const parser = new SaxesParser();
  const stack: string[] = [];
  const ids: number[] = [];
  let text = '';
  parser.on('opentag', (tag) => {
    stack.push(tag.name);
    text = '';
  });
  parser.on('text', (t) => (text += t));
  parser.on('closetag', (tag) => {
    if (tag.name === 'ID' && stack.at(-2) === 'HOST') ids.push(Number(text));
    stack.pop();
  });
  parser.write(xml.toString('utf8')).close();
  return ids;
}

function occurrences(haystack: Buffer, needle: string): number[] {
  const found: number[] = [];
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) found.push(at);
  return found;
}

/** Three truncated pages and a last one, as Qualys answers a pull with truncation_limit=2. */
function hldPages(style: 'indented' | 'compact') {
  const ids = [[101, 102], [205, 230], [231, 400], [977]];
  return ids.map((pageIds, i) =>
    xmlPage({ records: pageIds.map(hldHostXml), nextIdMin: ids[i + 1]?.[0] ?? null, style, datetime: `2026-11-28T10:0${i}:00Z` }),
  );
}

describe('sealing Host List Detection XML pages', () => {
  it('merges the pages into one well-formed document holding every HOST once, in order, byte for byte', async () => {
    const pages = hldPages('indented');
    const sealed = await sealPages({ store, format: 'XML', pages: await Promise.all(pages.map((p) => storePage(p))) });
    const xml = await readBlob(sealed.key);

    expect(sealed.bytes).toBe(xml.length);
    expect(hostIds(xml)).toEqual([101, 102, 205, 230, 231, 400, 977]);
    // Every host fragment is present exactly once, byte-identical, in page order.
    const positions = [101, 102, 205, 230, 231, 400, 977].map((id) => {
      const at = occurrences(xml, hldHostXml(id));
      expect(at).toHaveLength(1);
      return at[0]!;
    });
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(xml.includes('<WARNING>')).toBe(false);
    expect(xml.includes('record limit exceeded')).toBe(false);
    expect(occurrences(xml, '<HOST_LIST>')).toHaveLength(1);
    expect(occurrences(xml, '</HOST_LIST>')).toHaveLength(1);
    // Page 1's prolog, DATETIME and trailing comment frame the document.
    const firstPage = pages[0]!;
    expect(xml.subarray(0, firstPage.indexOf('<HOST_LIST>')).equals(firstPage.subarray(0, firstPage.indexOf('<HOST_LIST>')))).toBe(true);
    expect(xml.toString('utf8')).toContain('<DATETIME>2026-11-28T10:00:00Z</DATETIME>');
    expect(xml.toString('utf8').endsWith('</HOST_LIST>\n  </RESPONSE>\n</HOST_LIST_VM_DETECTION_OUTPUT>\n<!-- CONFIDENTIAL AND PROPRIETARY INFORMATION. Qualys provides the QualysGuard Service "As Is," without any warranty of any kind. -->\n')).toBe(true);
  });

  it('gives exactly the document Qualys sends unpaged when nothing separates the records from the list tags', async () => {
    const pages = hldPages('compact');
    const sealed = await sealPages({ store, format: 'XML', pages: await Promise.all(pages.map((p) => storePage(p))) });
    const unpaged = xmlPage({ records: [101, 102, 205, 230, 231, 400, 977].map(hldHostXml), style: 'compact' });
    expect((await readBlob(sealed.key)).equals(unpaged)).toBe(true);
  });

  it('gives exactly the document Qualys sends unpaged, however the pages were cut, indentation included', async () => {
    const ids = [101, 102, 205, 230, 231, 400, 977];
    const unpaged = xmlPage({ records: ids.map(hldHostXml), style: 'indented' });
    // Cut sequentially, cut into ranges (an empty first range included), or not cut at all.
    const cuts = [[[101, 102], [205, 230], [231, 400], [977]], [[], [101, 102, 205], [], [230, 231], [400, 977]], [ids]];
    for (const cut of cuts) {
      const pages = cut.map((pageIds, i) => xmlPage({ records: pageIds.map(hldHostXml), nextIdMin: i < cut.length - 1 ? 1 : null, style: 'indented' }));
      const sealed = await sealPages({ store, format: 'XML', pages: await Promise.all(pages.map((p) => storePage(p))) });
      expect((await readBlob(sealed.key)).toString('utf8'), JSON.stringify(cut)).toBe(unpaged.toString('utf8'));
    }
  });

  it('re-derives evidence of seal version 1 the way it was sealed: each page\'s list inside kept whole', async () => {
    const pages = await Promise.all(hldPages('indented').map((p) => storePage(p)));
    const v1 = await readBlob((await sealPages({ store, format: 'XML', pages, sealVersion: 1 })).key);
    const v2 = await readBlob((await sealPages({ store, format: 'XML', pages })).key);
    expect(hostIds(v1)).toEqual(hostIds(v2));
    // Version 1 keeps the indentation before each page's end tag: one blank-indented line per later page.
    expect(v1.length - v2.length).toBe(3 * '\n    '.length);
  });

  it('is deterministic: the same pages seal to the same bytes and hash, in any store', async () => {
    const pages = hldPages('indented');
    const refs = await Promise.all(pages.map((p) => storePage(p)));
    const first = await sealPages({ store, format: 'XML', pages: refs });
    const second = await sealPages({ store, format: 'XML', pages: refs });
    const otherRoot = await mkdtemp(path.join(os.tmpdir(), 'evidence-seal-xml-other-'));
    try {
      const other = createLocalBlobStore(otherRoot);
      const otherRefs = [];
      for (const p of pages) otherRefs.push({ blobKey: (await other.put(Readable.from([p]))).key, layout: xmlLayoutOf(p) });
      expect(await sealPages({ store: other, format: 'XML', pages: otherRefs })).toEqual(first);
    } finally {
      await rm(otherRoot, { recursive: true, force: true });
    }
    expect(second).toEqual(first);
  });

  it('keeps a single complete page exactly as Qualys sent it', async () => {
    const page = xmlPage({ records: [hldHostXml(7), hldHostXml(8)] });
    const ref = await storePage(page);
    const sealed = await sealPages({ store, format: 'XML', pages: [ref] });
    expect(sealed.key).toBe(ref.blobKey);
    expect((await readBlob(sealed.key)).equals(page)).toBe(true);
  });

  it('copies an empty result (no HOST_LIST) unchanged, and drops a stray warning from it', async () => {
    const empty = xmlPage({ records: [] });
    expect(xmlLayoutOf(empty).listOpen).toBeNull();
    const sealed = await sealPages({ store, format: 'XML', pages: [await storePage(empty)] });
    expect((await readBlob(sealed.key)).equals(empty)).toBe(true);

    const withWarning = xmlPage({ records: [], nextIdMin: 5 });
    const cleaned = await sealPages({ store, format: 'XML', pages: [await storePage(withWarning)] });
    expect((await readBlob(cleaned.key)).equals(empty)).toBe(true);
  });

  it('skips a later page that came back without records', async () => {
    const pages = [xmlPage({ records: [hldHostXml(1)], nextIdMin: 2, style: 'compact' }), xmlPage({ records: [], style: 'compact' })];
    const sealed = await sealPages({ store, format: 'XML', pages: await Promise.all(pages.map((p) => storePage(p))) });
    expect((await readBlob(sealed.key)).equals(xmlPage({ records: [hldHostXml(1)], style: 'compact' }))).toBe(true);
  });

  it('merges other paged list answers (custom fetchers) by the layout they come with', async () => {
    const root = 'ASSET_GROUP_LIST_OUTPUT';
    const list = 'ASSET_GROUP_LIST';
    const group = (id: number) => `      <ASSET_GROUP>\n        <ID>${id}</ID>\n        <TITLE><![CDATA[Zahlungsverkehr – PCI ${id}]]></TITLE>\n      </ASSET_GROUP>`;
    const pages = [
      xmlPage({ root, list, records: [group(1), group(2)], nextIdMin: 3 }),
      xmlPage({ root, list, records: [group(3)] }),
    ];
    const refs = await Promise.all(pages.map((p) => storePage(p, xmlLayoutOf(p, root, list))));
    const xml = await readBlob((await sealPages({ store, format: 'XML', pages: refs })).key);

    const titles: string[] = [];
    const parser = new SaxesParser();
    parser.on('cdata', (text) => titles.push(text));
    parser.write(xml.toString('utf8')).close();
    expect(titles).toEqual(['Zahlungsverkehr – PCI 1', 'Zahlungsverkehr – PCI 2', 'Zahlungsverkehr – PCI 3']);
    expect(xml.includes('<WARNING>')).toBe(false);
  });

  it('refuses pages that are not one answer or whose layout does not fit, naming the page and field', async () => {
    const hld = await storePage(xmlPage({ records: [hldHostXml(1)], nextIdMin: 2 }));
    const groups = xmlPage({ root: 'ASSET_GROUP_LIST_OUTPUT', list: 'ASSET_GROUP_LIST', records: ['<ASSET_GROUP><ID>2</ID></ASSET_GROUP>'] });
    const groupsRef = await storePage(groups, xmlLayoutOf(groups, 'ASSET_GROUP_LIST_OUTPUT', 'ASSET_GROUP_LIST'));
    await expect(sealPages({ store, format: 'XML', pages: [hld, groupsRef] })).rejects.toThrow(
      /page 2: layout.root is ASSET_GROUP_LIST_OUTPUT but page 1's is HOST_LIST_VM_DETECTION_OUTPUT/,
    );

    const bad = { ...hld, layout: { ...hld.layout, listClose: { start: 10, end: 22 } } };
    await expect(sealPages({ store, format: 'XML', pages: [bad] })).rejects.toThrow(/page 1: layout.listClose.start is 10/);
    const beyond = { ...hld, layout: { ...hld.layout, warning: { start: hld.layout.warning!.start, end: 1e9 } } };
    await expect(sealPages({ store, format: 'XML', pages: [beyond] })).rejects.toThrow(/page 1: layout.warning.end is 1000000000/);
    const half = { ...hld, layout: { ...hld.layout, listClose: null } };
    await expect(sealPages({ store, format: 'XML', pages: [half] })).rejects.toThrow(/both be set or both be null/);

    // Evidence of seal version 1 never began with an empty page: re-deriving such a file is refused.
    const empty = await storePage(xmlPage({ records: [], nextIdMin: 2 }));
    await expect(sealPages({ store, format: 'XML', pages: [empty, hld], sealVersion: 1 })).rejects.toThrow(/page 1 holds no list element but page 2 does/);

    const csvLayout = { ...hld, layout: { kind: 'csv' as const, bodyStart: 0, rowsStart: 0, bodyEnd: 0, footer: null } };
    await expect(sealPages({ store, format: 'XML', pages: [csvLayout] })).rejects.toThrow(/page 1: layout.kind is csv, expected xml/);

    const missing = { ...hld, blobKey: `sha256/ab/ab${'0'.repeat(62)}` };
    await expect(sealPages({ store, format: 'XML', pages: [hld, missing] })).rejects.toThrow(/page 2: blob sha256\/ab\/ab0+ is not in the store/);
    await expect(sealPages({ store, format: 'XML', pages: [] })).rejects.toBeInstanceOf(SealError);
  });

  it('stops when cancelled and leaves no partial evidence', async () => {
    const refs = await Promise.all(hldPages('indented').map((p) => storePage(p)));
    const before = await readdir(root, { recursive: true });
    await expect(sealPages({ store, format: 'XML', pages: refs, signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    const controller = new AbortController();
    const sealing = sealPages({ store, format: 'XML', pages: refs, signal: controller.signal });
    controller.abort();
    await expect(sealing).rejects.toMatchObject({ name: 'AbortError' });
    expect((await readdir(root, { recursive: true })).sort()).toEqual(before.sort());
  });

  it('keeps a raw custom answer as the evidence itself, and only one page of it', async () => {
    const answer = Buffer.from('<?xml version="1.0" encoding="UTF-8" ?>\n<SCAN_LIST_OUTPUT><RESPONSE><DATETIME>2026-11-28T10:00:00Z</DATETIME></RESPONSE></SCAN_LIST_OUTPUT>\n');
    const { key, bytes, sha256 } = await store.put(Readable.from([answer]));
    expect(await sealPages({ store, format: 'RAW', pages: [{ blobKey: key, layout: null }] })).toEqual({ key, bytes, sha256 });
    await expect(
      sealPages({ store, format: 'RAW', pages: [{ blobKey: key, layout: null }, { blobKey: key, layout: null }] }),
    ).rejects.toThrow(/raw evidence is a single answer, got 2 pages/);
  });
});
