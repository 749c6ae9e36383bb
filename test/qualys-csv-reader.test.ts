import { describe, expect, it } from 'vitest';
import { readDetectionPage } from '../qualys/detection-page-reader.js';
import { QualysProtocolError } from '../qualys/errors.js';
import type { CsvLayout } from '../qualys/page-summary.js';
import { chunksOf, CollectingSink, fixture, sha256 } from './fixtures/qualys/helpers.js';

const text = (buf: Buffer, start: number, end: number) => buf.subarray(start, end).toString('utf8');

describe('Host List Detection CSV page reader', () => {
  it('summarizes a complete answer and finds its sections to the byte', async () => {
    const doc = fixture('hld-complete.csv');
    const sink = new CollectingSink();
    const result = await readDetectionPage(chunksOf(doc, 64 * 1024), { sink });
    expect(sink.bytes.equals(doc)).toBe(true);
    expect(result.sha256).toBe(sha256(doc));
    expect(result.summary).toMatchObject({
      format: 'CSV',
      hosts: 2,
      detections: 3,
      severity: { '1': 1, '2': 1, '3': 1, '4': 0, '5': 0 },
      status: { New: 1, Active: 1, Fixed: 1, 'Re-Opened': 0 },
      type: { Confirmed: 1, Potential: 1, Info: 1 },
      minHostId: 113574008,
      maxHostId: 113574011,
      datetime: null,
      truncated: false,
      nextIdMin: null,
    });
    expect(result.summary.matrix).toEqual({ '2|New|Confirmed': 1, '3|Active|Potential': 1, '1|Fixed|Info': 1 });

    const layout = result.summary.layout as CsvLayout;
    expect(text(doc, 0, layout.bodyStart).endsWith('----BEGIN_RESPONSE_BODY_CSV\n')).toBe(true);
    expect(text(doc, layout.bodyStart, layout.rowsStart).startsWith('"Host ID","IP Address"')).toBe(true);
    expect(text(doc, layout.bodyStart, layout.rowsStart).endsWith('"Last Processed Datetime"\n')).toBe(true);
    expect(text(doc, layout.rowsStart, layout.rowsStart + 11)).toBe('"113574008"');
    expect(text(doc, layout.bodyEnd, doc.length).startsWith('----END_RESPONSE_BODY_CSV\n')).toBe(true);
    // A quoted RESULTS line that starts with ---- is data, not a marker.
    expect(text(doc, layout.rowsStart, layout.bodyEnd)).toContain('----not a marker');
    expect(text(doc, layout.footer!.start, layout.footer!.end)).toBe(
      '----BEGIN_RESPONSE_FOOTER_CSV\n"Status Message"\n"Finished"\n----END_RESPONSE_FOOTER_CSV\n',
    );
  });

  it('gives the identical summary and layout whatever the chunk size (1 byte, 7 bytes, 64 KB)', async () => {
    for (const name of ['hld-complete.csv', 'hld-truncated.csv', 'hld-warning-footer.csv', 'hld-suppressed.csv', 'hld-empty.csv']) {
      const doc = fixture(name);
      const [one, seven, big] = await Promise.all([1, 7, 64 * 1024].map((size) => readDetectionPage(chunksOf(doc, size))));
      expect(one!.summary, name).toEqual(big!.summary);
      expect(seven!.summary, name).toEqual(big!.summary);
    }
  });

  it('reads the truncated footer: next ID and URL, and the header datetime', async () => {
    const { summary } = await readDetectionPage(chunksOf(fixture('hld-truncated.csv'), 100));
    expect(summary).toMatchObject({ hosts: 2, detections: 2, truncated: true, nextIdMin: 2003, datetime: '2026-02-17T09:41:07Z' });
    expect(summary.status['Re-Opened']).toBe(1);
    expect(summary.nextUrl).toBe('https://qualysapi.qualys.com/api/5.0/fo/asset/host/vm/detection/?action=list&output_format=CSV&truncation_limit=2&id_min=2003');
  });

  it('reads the WARNING footer other list APIs use', async () => {
    const { summary } = await readDetectionPage(chunksOf(fixture('hld-warning-footer.csv'), 100));
    expect(summary).toMatchObject({ hosts: 1, detections: 1, truncated: true, nextIdMin: 3002 });
  });

  it('counts hosts right with suppress_duplicated_data_from_csv=1 (host columns only on a host’s first row)', async () => {
    const { summary } = await readDetectionPage(chunksOf(fixture('hld-suppressed.csv'), 64));
    expect(summary).toMatchObject({ hosts: 2, detections: 5, minHostId: 4001, maxHostId: 4005 });
    expect(summary.type).toEqual({ Confirmed: 3, Potential: 1, Info: 1, none: 0, other: 0 });
    expect(summary.status).toEqual({ New: 1, Active: 3, Fixed: 1, 'Re-Opened': 0, none: 0, other: 0 });
  });

  it('reads an empty body (no column-header row)', async () => {
    const doc = fixture('hld-empty.csv');
    const { summary } = await readDetectionPage(chunksOf(doc, 5));
    const layout = summary.layout as CsvLayout;
    expect(summary).toMatchObject({ hosts: 0, detections: 0, truncated: false });
    expect(layout.rowsStart).toBe(layout.bodyStart);
    expect(layout.bodyEnd).toBe(layout.bodyStart);
  });

  it('accepts CRLF line ends and a byte order mark', async () => {
    const doc = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(fixture('hld-truncated.csv').toString('utf8').replace(/\n/g, '\r\n'))]);
    const { summary } = await readDetectionPage(chunksOf(doc, 3));
    expect(summary).toMatchObject({ hosts: 2, detections: 2, nextIdMin: 2003 });
    const layout = summary.layout as CsvLayout;
    expect(text(doc, layout.bodyEnd, layout.bodyEnd + 25)).toBe('----END_RESPONSE_BODY_CSV');
  });

  it.each([
    ['cut off in the body', (doc: string) => doc.slice(0, doc.indexOf('----END_RESPONSE_BODY_CSV')), /ends inside its body section/],
    ['cut off before the footer', (doc: string) => doc.slice(0, doc.indexOf('----BEGIN_RESPONSE_FOOTER_CSV')), /no footer section/],
    ['cut off in the footer', (doc: string) => doc.slice(0, doc.indexOf('----END_RESPONSE_FOOTER_CSV')), /ends inside its footer section/],
    ['missing a required column', (doc: string) => doc.replace('"Severity"', '"Sev"'), /no "Severity" column/],
    ['with a broken quoted field', (doc: string) => doc.replace('"Finished"', '"Finished').replace('"Amazon Linux"', '"Amazon "Linux"'), /not valid CSV/],
  ])('refuses an answer %s', async (_name, mangle, message) => {
    const doc = Buffer.from(mangle(fixture('hld-complete.csv').toString('utf8')));
    const err = await readDetectionPage(chunksOf(doc, 256)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QualysProtocolError);
    expect((err as Error).message).toMatch(message);
  });
});
