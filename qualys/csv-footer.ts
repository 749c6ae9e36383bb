/**
 * Reads the small header and footer sections of a Qualys CSV answer.
 *
 * Footer variants:
 *   "Status Message"                         / "Finished"                 → complete
 *   "Status Message","Next ID","Next URL"    / "Truncated","<id>","<url>" → truncated (Host List Detection)
 *   WARNING / "CODE","TEXT","URL"            / "1980","…","<url>"         → truncated (other list APIs)
 */
import { parse } from 'csv-parse/sync';
import { QualysProtocolError } from './errors.js';
import { TRUNCATION_WARNING_CODE, decodeXmlEntities, idMinFromUrl } from './truncation.js';

export interface CsvTruncation {
  truncated: boolean;
  nextIdMin: number | null;
  nextUrl: string | null;
}

function rowsOf(text: string, section: string): string[][] {
  try {
    return parse(text, { relax_column_count: true, relax_quotes: true, skip_empty_lines: true, trim: true }) as string[][];
  } catch (err) {
    throw new QualysProtocolError(`CSV: the ${section} section is not valid CSV: ${(err as Error).message}`);
  }
}

export function readCsvFooter(footerText: string): CsvTruncation {
  const rows = rowsOf(footerText, 'footer');
  for (let r = 0; r + 1 < rows.length; r++) {
    const head = rows[r]!.map((cell) => cell.toLowerCase());
    const values = rows[r + 1]!;
    const at = (name: string) => {
      const index = head.indexOf(name);
      return index >= 0 ? (values[index] ?? '').trim() : null;
    };
    if (head.includes('status message')) {
      const status = at('status message') ?? '';
      const url = at('next url') || null;
      const nextId = at('next id');
      const truncated = /^truncated$/i.test(status) || url != null || (nextId != null && nextId !== '');
      if (!truncated) return { truncated: false, nextIdMin: null, nextUrl: null };
      return truncation(url, nextId);
    }
    if (head.includes('code') && head.includes('url')) {
      const code = Number(at('code'));
      const url = at('url') || null;
      if (code !== TRUNCATION_WARNING_CODE && url == null) continue;
      return truncation(url, null);
    }
  }
  return { truncated: false, nextIdMin: null, nextUrl: null };
}

function truncation(rawUrl: string | null, nextId: string | null): CsvTruncation {
  const nextUrl = rawUrl ? decodeXmlEntities(rawUrl) : null;
  const fromUrl = nextUrl ? idMinFromUrl(nextUrl) : null;
  const fromId = nextId && /^\d+$/.test(nextId) ? Number(nextId) : null;
  return { truncated: true, nextIdMin: fromUrl ?? fromId, nextUrl };
}

const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * The answer's datetime from the header section: the first cell that is an
 * ISO-8601 timestamp, whether the section is laid out as key/value pairs or
 * as a header row and a value row.
 */
export function readCsvHeaderDatetime(headerText: string): string | null {
  for (const row of rowsOf(headerText, 'header')) {
    for (const cell of row) if (ISO_DATETIME.test(cell)) return cell;
  }
  return null;
}
