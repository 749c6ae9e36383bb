import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from '../evidence/blob-store.js';
import { createLocalBlobStore } from '../evidence/local-blob-store.js';
import { sealPages } from '../evidence/seal.js';
import { CSV_COLUMNS, csvLayoutOf, csvPage, hldCsvRows } from './evidence-pages.js';

let root: string;
let store: BlobStore;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'evidence-seal-csv-'));
  store = createLocalBlobStore(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function storePages(pages: Buffer[]) {
  const refs = [];
  for (const page of pages) refs.push({ blobKey: (await store.put(Readable.from([page]))).key, layout: csvLayoutOf(page) });
  return refs;
}

async function readBlob(key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The lines between a section's BEGIN and END marker lines. */
function section(text: string, name: string): string {
  const begin = `----BEGIN_RESPONSE_${name}_CSV`;
  const end = `----END_RESPONSE_${name}_CSV`;
  const from = text.indexOf('\n', text.indexOf(begin)) + 1;
  return text.slice(from, text.indexOf(end));
}

const hostIds = [101, 102, 205, 230, 231, 977];
/** Truncated pages of two hosts (two detection rows each) and a last, finished page. */
function pagesOf(eol: '\n' | '\r\n') {
  return [[101, 102], [205, 230], [231, 977]].map((ids, i, all) =>
    csvPage({ rows: ids.flatMap(hldCsvRows), nextIdMin: all[i + 1]?.[0] ?? null, eol }),
  );
}

describe('sealing Host List Detection CSV pages', () => {
  it('merges the pages into one header section, one body with one column-header row, all rows, and a Finished footer', async () => {
    const sealed = await sealPages({ store, format: 'CSV', pages: await storePages(pagesOf('\n')) });
    const text = await readBlob(sealed.key);

    for (const marker of ['BEGIN_RESPONSE_HEADER', 'END_RESPONSE_HEADER', 'BEGIN_RESPONSE_BODY', 'END_RESPONSE_BODY', 'BEGIN_RESPONSE_FOOTER', 'END_RESPONSE_FOOTER']) {
      expect(text.split(`----${marker}_CSV\n`)).toHaveLength(2);
    }
    const records: string[][] = parse(section(text, 'BODY'));
    expect(records[0]).toEqual(CSV_COLUMNS);
    expect(records.slice(1)).toEqual(hostIds.flatMap(hldCsvRows));
    expect(records.filter((r) => r[0] === 'Host ID')).toHaveLength(1);
    expect(parse(section(text, 'FOOTER'))).toEqual([['Status Message'], ['Finished']]);
    expect(text).not.toContain('Truncated');
    expect(parse(section(text, 'HEADER'))).toEqual([['Request Parameter', 'Value'], ['action', 'list'], ['output_format', 'CSV']]);
  });

  it('gives exactly the answer Qualys sends unpaged, with the line breaks of page 1', async () => {
    for (const eol of ['\n', '\r\n'] as const) {
      const sealed = await sealPages({ store, format: 'CSV', pages: await storePages(pagesOf(eol)) });
      expect(await readBlob(sealed.key)).toBe(csvPage({ rows: hostIds.flatMap(hldCsvRows), eol }).toString('utf8'));
    }
  });

  it('keeps a single finished page exactly as Qualys sent it, and is deterministic', async () => {
    const page = csvPage({ rows: hldCsvRows(5) });
    const [ref] = await storePages([page]);
    const sealed = await sealPages({ store, format: 'CSV', pages: [ref!] });
    expect(sealed.key).toBe(ref!.blobKey);

    const refs = await storePages(pagesOf('\n'));
    const first = await sealPages({ store, format: 'CSV', pages: refs });
    expect(await sealPages({ store, format: 'CSV', pages: refs })).toEqual(first);
  });

  it('accepts a later page without rows (and so without a column-header row), and an empty result', async () => {
    const emptyPage = csvPage({ rows: [] });
    expect(csvLayoutOf(emptyPage).rowsStart).toBe(csvLayoutOf(emptyPage).bodyStart);
    const pages = [csvPage({ rows: hldCsvRows(1), nextIdMin: 2 }), emptyPage];
    const sealed = await sealPages({ store, format: 'CSV', pages: await storePages(pages) });
    expect(await readBlob(sealed.key)).toBe(csvPage({ rows: hldCsvRows(1) }).toString('utf8'));

    const empty = await sealPages({ store, format: 'CSV', pages: await storePages([emptyPage]) });
    expect(await readBlob(empty.key)).toBe(emptyPage.toString('utf8'));
    await expect(sealPages({ store, format: 'CSV', pages: await storePages([emptyPage, pages[0]!]) })).rejects.toThrow(
      /page 1 has no column-header row but page 2 has rows/,
    );
  });

  it('refuses pages whose column headers differ or whose layout does not fit', async () => {
    const other = csvPage({ rows: hldCsvRows(9), columns: [...CSV_COLUMNS, 'QDS'] });
    const [first, second] = await storePages([pagesOf('\n')[0]!, other]);
    await expect(sealPages({ store, format: 'CSV', pages: [first!, second!] })).rejects.toThrow(
      /page 2: its column-header row differs from page 1's/,
    );
    const swapped = { ...first!, layout: { ...first!.layout, rowsStart: first!.layout.bodyEnd + 1 } };
    await expect(sealPages({ store, format: 'CSV', pages: [swapped] })).rejects.toThrow(/page 1: layout.bodyEnd is \d+, expected an integer between \d+ and/);
    const noBreak = { ...first!, layout: { ...first!.layout, bodyStart: 3 } };
    await expect(sealPages({ store, format: 'CSV', pages: [noBreak] })).rejects.toThrow(/page 1: the byte before layout.bodyStart is not a line break/);
  });
});
