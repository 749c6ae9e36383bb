/**
 * Joins the saved pages of one Host List Detection pull into one document,
 * using the byte layouts the page reader recorded (no re-parsing):
 *
 * XML: page 1 up to its `</HOST_LIST>`, then every later page's hosts (between
 *      its `<HOST_LIST>` and `</HOST_LIST>`), then the rest of page 1 without
 *      its truncation WARNING.
 * CSV: page 1 up to the end of its body, every later page's rows (after its
 *      column-header row), then a "Finished" footer.
 */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { CsvLayout, PageSummary, XmlLayout } from './page-summary.js';

export interface SavedPage {
  path: string;
  bytes: number;
  summary: PageSummary;
}

async function copyRange(path: string, start: number, end: number, out: Writable): Promise<void> {
  if (end <= start) return;
  for await (const chunk of createReadStream(path, { start, end: end - 1, highWaterMark: 1024 * 1024 })) {
    if (!out.write(chunk)) await once(out, 'drain');
  }
}

async function lineEndingAfter(path: string, offset: number): Promise<string> {
  if (offset < 2) return '\n';
  const file = await open(path);
  try {
    const { buffer } = await file.read(Buffer.alloc(2), 0, 2, offset - 2);
    return buffer[0] === 0x0d ? '\r\n' : '\n';
  } finally {
    await file.close();
  }
}

async function mergeXml(pages: SavedPage[], out: Writable): Promise<void> {
  const [first, ...rest] = pages as [SavedPage, ...SavedPage[]];
  const layout = first.summary.layout as XmlLayout;
  const warning = layout.warning;
  const tailStart = layout.listClose ? layout.listClose.start : (warning?.start ?? first.bytes);
  await copyRange(first.path, 0, tailStart, out);
  for (const page of rest) {
    const l = page.summary.layout as XmlLayout;
    if (l.listOpen && l.listClose) await copyRange(page.path, l.listOpen.end, l.listClose.start, out);
  }
  if (warning && warning.start >= tailStart) {
    await copyRange(first.path, tailStart, warning.start, out);
    await copyRange(first.path, warning.end, first.bytes, out);
  } else {
    await copyRange(first.path, tailStart, first.bytes, out);
  }
}

async function mergeCsv(pages: SavedPage[], out: Writable): Promise<void> {
  const [first, ...rest] = pages as [SavedPage, ...SavedPage[]];
  const layout = first.summary.layout as CsvLayout;
  await copyRange(first.path, 0, layout.bodyEnd, out);
  for (const page of rest) {
    const l = page.summary.layout as CsvLayout;
    await copyRange(page.path, l.rowsStart, l.bodyEnd, out);
  }
  const nl = await lineEndingAfter(first.path, layout.bodyStart);
  out.write(['----END_RESPONSE_BODY_CSV', '----BEGIN_RESPONSE_FOOTER_CSV', '"Status Message"', '"Finished"', '----END_RESPONSE_FOOTER_CSV', ''].join(nl));
}

/** Writes the merged document to `out` (which the caller ends). Pages must be in pull order. */
export async function mergeDetectionPages(pages: SavedPage[], out: Writable): Promise<void> {
  if (pages.length === 0) throw new Error('no pages to merge');
  if (pages[0]!.summary.format === 'XML') await mergeXml(pages, out);
  else await mergeCsv(pages, out);
}
