/**
 * Plans the merge of paged Qualys XML list answers (Host List Detection,
 * asset groups, ...) into one document: the frame page up to its list's end
 * tag, the inside of every other page's list, then the frame's remainder
 * without its truncation WARNING, so every record keeps its original bytes
 * and order.
 *
 * Seal version 2 joins pages at their last record: the whitespace each page
 * has before its list's end tag is left out except the frame's, which ends
 * the list. The file then no longer depends on where the pages were cut, so
 * a range-parallel pull seals the very bytes a sequential pull does. Version
 * 1 (evidence sealed before) kept every page's list inside whole; it stays
 * so that such evidence can be re-derived from its pages.
 */
import type { ByteRange, XmlLayout } from '../qualys/page-summary.js';
import { checkOffset, CURRENT_SEAL_VERSION, rangeOf, SealError, type ReadRange, type SealPage, type SealVersion, type Segment } from './seal-plan.js';

/** How far back one read looks for the indentation before the WARNING. */
const WHITESPACE_SCAN_WINDOW = 4096;

export async function planXmlSeal(pages: ReadonlyArray<SealPage<XmlLayout>>, read: ReadRange, sealVersion: SealVersion = CURRENT_SEAL_VERSION): Promise<Segment[]> {
  const [first, ...later] = pages;
  if (!first) throw new SealError('no pages to seal');
  pages.forEach((page) => checkXmlLayout(page, first.layout.root));
  if (sealVersion === 2) return planJoinedAtRecords(pages, read);

  const list = listOf(first);
  if (!list) {
    const withRecords = later.find((page) => {
      const pageList = listOf(page);
      return pageList !== null && pageList.inner.end > pageList.inner.start;
    });
    if (withRecords) {
      throw new SealError(`page 1 holds no list element but page ${withRecords.pageNo} does: the pages are not one answer`);
    }
    return withoutWarning(first, 0, read);
  }
  const segments: Segment[] = [rangeOf(first, 0, list.close.start)];
  for (const page of later) {
    const pageList = listOf(page);
    if (pageList) segments.push(rangeOf(page, pageList.inner.start, pageList.inner.end));
  }
  segments.push(...(await withoutWarning(first, list.close.start, read)));
  return segments;
}

async function planJoinedAtRecords(pages: ReadonlyArray<SealPage<XmlLayout>>, read: ReadRange): Promise<Segment[]> {
  // The first page with a list frames the document; earlier ones (empty first ranges) hold no record.
  const frame = pages.find((page) => listOf(page) !== null);
  if (!frame) return withoutWarning(pages[0]!, 0, read);
  const frameList = listOf(frame)!;
  const frameLastRecordEnd = await whitespaceRunStart(frame, frameList.inner.start, frameList.inner.end, read);
  const segments: Segment[] = [rangeOf(frame, 0, frameLastRecordEnd)];
  for (const page of pages) {
    const list = page === frame ? null : listOf(page);
    if (!list) continue;
    const lastRecordEnd = await whitespaceRunStart(page, list.inner.start, list.inner.end, read);
    segments.push(rangeOf(page, list.inner.start, lastRecordEnd));
  }
  segments.push(rangeOf(frame, frameLastRecordEnd, frameList.close.start));
  segments.push(...(await withoutWarning(frame, frameList.close.start, read)));
  return segments;
}

function listOf(page: SealPage<XmlLayout>): { inner: ByteRange; close: ByteRange } | null {
  const { listOpen, listClose } = page.layout;
  if (!listOpen || !listClose) return null;
  return { inner: { start: listOpen.end, end: listClose.start }, close: listClose };
}

/** Page bytes [from, end) minus the WARNING element and the whitespace that indents it. */
async function withoutWarning(page: SealPage<XmlLayout>, from: number, read: ReadRange): Promise<Segment[]> {
  const { warning } = page.layout;
  if (!warning) return [rangeOf(page, from, page.bytes)];
  const cut = await whitespaceRunStart(page, from, warning.start, read);
  return [rangeOf(page, from, cut), rangeOf(page, warning.end, page.bytes)];
}

/** Start of the run of XML whitespace that ends at `pos`, not looking before `floor`. */
async function whitespaceRunStart(page: SealPage<XmlLayout>, floor: number, pos: number, read: ReadRange): Promise<number> {
  let cut = pos;
  while (cut > floor) {
    const from = Math.max(floor, cut - WHITESPACE_SCAN_WINDOW);
    const window = await read(page.blobKey, from, cut);
    let i = window.length;
    while (i > 0 && isXmlWhitespace(window[i - 1]!)) i--;
    if (i > 0) return from + i;
    cut = from;
  }
  return floor;
}

function isXmlWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

function checkXmlLayout(page: SealPage<XmlLayout>, root: string): void {
  const { layout } = page;
  if (layout.root !== root) {
    throw new SealError(`page ${page.pageNo}: layout.root is ${layout.root} but page 1's is ${root}: the pages are not one answer`);
  }
  if ((layout.listOpen === null) !== (layout.listClose === null)) {
    throw new SealError(`page ${page.pageNo}: layout.listOpen and layout.listClose must both be set or both be null`);
  }
  checkRange(page, 'listOpen', layout.listOpen, 0);
  checkRange(page, 'listClose', layout.listClose, layout.listOpen?.end ?? 0);
  // The WARNING follows the list inside RESPONSE; anywhere else it would overlap records.
  checkRange(page, 'warning', layout.warning, layout.listClose?.end ?? 0);
}

function checkRange(page: SealPage<XmlLayout>, field: string, range: ByteRange | null, min: number): void {
  if (!range) return;
  checkOffset(page, `${field}.start`, range.start, min);
  checkOffset(page, `${field}.end`, range.end, range.start);
}
