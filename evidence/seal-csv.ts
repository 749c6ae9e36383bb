/**
 * Plans the merge of paged Qualys CSV answers into one: page 1's header
 * section, body marker, column-header row and rows, the rows of every later
 * page, then one closing body marker and a `Finished` footer, written with
 * the line breaks page 1 uses.
 */
import type { CsvLayout } from '../qualys/page-summary.js';
import { checkOffset, rangeOf, SealError, type ReadRange, type SealPage, type Segment } from './seal-plan.js';

export async function planCsvSeal(pages: ReadonlyArray<SealPage<CsvLayout>>, read: ReadRange): Promise<Segment[]> {
  const [first, ...later] = pages;
  if (!first) throw new SealError('no pages to seal');
  pages.forEach(checkCsvLayout);

  // An empty body may lack its column-header row as well; such a page adds nothing.
  const withRows = later.filter((page) => page.layout.bodyEnd > page.layout.rowsStart);
  const columns = await read(first.blobKey, first.layout.bodyStart, first.layout.rowsStart);
  for (const page of withRows) {
    if (columns.length === 0) {
      throw new SealError(`page 1 has no column-header row but page ${page.pageNo} has rows: the pages are not one answer`);
    }
    const pageColumns = await read(page.blobKey, page.layout.bodyStart, page.layout.rowsStart);
    if (!pageColumns.equals(columns)) {
      throw new SealError(`page ${page.pageNo}: its column-header row differs from page 1's, so its rows cannot join page 1's body`);
    }
  }
  const eol = await lineBreakOf(first, read);
  const segments: Segment[] = [rangeOf(first, 0, first.layout.bodyEnd)];
  for (const page of withRows) segments.push(rangeOf(page, page.layout.rowsStart, page.layout.bodyEnd));
  segments.push({ kind: 'bytes', data: Buffer.from(finishedTrailer(eol), 'utf8') });
  return segments;
}

/** The footer Qualys writes when a pull is complete (not truncated). */
function finishedTrailer(eol: string): string {
  return [
    '----END_RESPONSE_BODY_CSV',
    '----BEGIN_RESPONSE_FOOTER_CSV',
    '"Status Message"',
    '"Finished"',
    '----END_RESPONSE_FOOTER_CSV',
    '',
  ].join(eol);
}

/** The line break that ends page 1's ----BEGIN_RESPONSE_BODY_CSV line. */
async function lineBreakOf(page: SealPage<CsvLayout>, read: ReadRange): Promise<string> {
  const start = page.layout.bodyStart;
  const tail = await read(page.blobKey, Math.max(0, start - 2), start);
  if (tail.toString('latin1').endsWith('\r\n')) return '\r\n';
  if (tail.at(-1) === 0x0a) return '\n';
  throw new SealError(`page ${page.pageNo}: the byte before layout.bodyStart is not a line break`);
}

function checkCsvLayout(page: SealPage<CsvLayout>): void {
  const { bodyStart, rowsStart, bodyEnd, footer } = page.layout;
  checkOffset(page, 'bodyStart', bodyStart);
  checkOffset(page, 'rowsStart', rowsStart, bodyStart);
  checkOffset(page, 'bodyEnd', bodyEnd, rowsStart);
  if (footer) {
    checkOffset(page, 'footer.start', footer.start, bodyEnd);
    checkOffset(page, 'footer.end', footer.end, footer.start);
  }
}
