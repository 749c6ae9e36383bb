import { describe, expect, it } from 'vitest';
import { QualysAuthError } from '../qualys/errors.js';
import { readGenericPage, type ListRecord } from '../qualys/generic-page-reader.js';
import type { CsvLayout, XmlLayout } from '../qualys/page-summary.js';
import { chunksOf, CollectingSink, fixture, sha256, simpleReturn } from './fixtures/qualys/helpers.js';

const slice = (buf: Buffer, range: { start: number; end: number } | null) => (range ? buf.subarray(range.start, range.end).toString('utf8') : null);

describe('generic page reader (custom fetchers and helper lists)', () => {
  it('finds the list element, counts its records and follows the truncation warning of any list output', async () => {
    const doc = fixture('asset-groups-page1.xml');
    const sink = new CollectingSink();
    const records: ListRecord[] = [];
    const { summary, bytes, sha256: hash } = await readGenericPage(chunksOf(doc, 7), { sink, onRecord: (r) => records.push(r) });
    expect(sink.bytes.equals(doc)).toBe(true);
    expect(bytes).toBe(doc.length);
    expect(hash).toBe(sha256(doc));
    expect(summary).toMatchObject({
      format: 'XML',
      root: 'ASSET_GROUP_LIST_OUTPUT',
      records: 2,
      datetime: '2026-02-17T09:41:07Z',
      truncated: true,
      nextIdMin: 13,
      nextUrl: 'https://qualysapi.qualys.com/api/2.0/fo/asset/group/?action=list&truncation_limit=2&id_min=13',
    });
    const layout = summary.layout as XmlLayout;
    expect(slice(doc, layout.listOpen)).toBe('<ASSET_GROUP_LIST>');
    expect(slice(doc, layout.listClose)).toBe('</ASSET_GROUP_LIST>');
    expect(slice(doc, layout.warning)!.startsWith('<WARNING>')).toBe(true);
    expect(records.map((r) => [r.name, r.fields.ID, r.fields.TITLE])).toEqual([
      ['ASSET_GROUP', '11', 'PCI &amp; Cardholder Zone'],
      ['ASSET_GROUP', '12', 'Zürich Büro'],
    ]);
  });

  it('reads leaf records such as the host ID set', async () => {
    const records: ListRecord[] = [];
    const { summary } = await readGenericPage(chunksOf(fixture('host-id-set.xml'), 64), { onRecord: (r) => records.push(r) });
    expect(summary).toMatchObject({ root: 'HOST_LIST_OUTPUT', records: 4, truncated: false, nextIdMin: null });
    expect(records.map((r) => `${r.name}:${r.text}`)).toEqual(['ID_RANGE:100-104', 'ID:110', 'ID_RANGE:105-107', 'ID:200']);
  });

  it('reads a Host List Detection page generically too', async () => {
    const doc = fixture('hld-truncated.xml');
    const { summary } = await readGenericPage(chunksOf(doc, 1));
    expect(summary).toMatchObject({ root: 'HOST_LIST_VM_DETECTION_OUTPUT', records: 2, truncated: true, nextIdMin: 1003 });
    expect(slice(doc, (summary.layout as XmlLayout).listOpen)).toBe('<HOST_LIST>');
  });

  it('reads CSV with sections (records, footer warning) and plain CSV', async () => {
    const withFooter = await readGenericPage(chunksOf(fixture('hld-warning-footer.csv'), 10));
    expect(withFooter.summary).toMatchObject({ format: 'CSV', records: 1, truncated: true, nextIdMin: 3002 });
    expect((withFooter.summary.layout as CsvLayout).kind).toBe('csv');

    const plain = await readGenericPage(chunksOf(Buffer.from('"ID","Title"\n"1","a\nb"\n"2","c"'), 3));
    expect(plain.summary).toMatchObject({ format: 'CSV', records: 2, truncated: false, layout: null });
  });

  it('keeps other formats as they are', async () => {
    const body = Buffer.from('{"scans":[]}');
    const sink = new CollectingSink();
    const { summary } = await readGenericPage(chunksOf(body, 4), { sink });
    expect(summary).toEqual({ format: 'OTHER', root: null, records: 0, datetime: null, truncated: false, nextIdMin: null, nextUrl: null, layout: null });
    expect(sink.bytes.equals(body)).toBe(true);
  });

  it('accepts a SIMPLE_RETURN without an error code (some endpoints answer that way) but throws on an error code', async () => {
    const ok = simpleReturn(0, 'New vm scan launched').replace('    <CODE>0</CODE>\n', '');
    await expect(readGenericPage(chunksOf(Buffer.from(ok), 16))).resolves.toMatchObject({ summary: { format: 'XML', root: 'SIMPLE_RETURN', records: 0 } });
    const expired = simpleReturn(2001, 'Your account has expired.');
    await expect(readGenericPage(chunksOf(Buffer.from(expired), 16), { httpStatus: 200 })).rejects.toBeInstanceOf(QualysAuthError);
  });
});
