/**
 * Tells from the first bytes of an answer what it is, whatever the request
 * asked for: Qualys reports errors as XML even when CSV was requested.
 */
import type { BodyParser } from './page-ingest.js';

export type SniffedFormat = 'xml' | 'csv' | 'csv-plain' | 'other';

const CSV_MARKER = Buffer.from('----BEGIN_RESPONSE');
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** null: not enough bytes yet to tell. */
function sniffFormat(head: Buffer, final: boolean): SniffedFormat | null {
  if (!final && head.length < 3 && BOM.subarray(0, head.length).equals(head)) return null;
  let i = head.subarray(0, 3).equals(BOM) ? 3 : 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d)) i++;
  if (i >= head.length) return final ? 'other' : null;
  switch (head[i]) {
    case 0x3c: // '<'
      return 'xml';
    case 0x22: // '"'
      return 'csv-plain';
    case 0x2d: {
      // '-'
      const available = Math.min(head.length - i, CSV_MARKER.length);
      if (head.compare(CSV_MARKER, 0, available, i, i + available) !== 0) return 'other';
      return available === CSV_MARKER.length ? 'csv' : final ? 'other' : null;
    }
    default:
      return 'other';
  }
}

/** A short description of the start of an unexpected answer, for error messages. */
export function describeStart(head: Buffer): string {
  const text = head.subarray(0, 60).toString('utf8').replace(/\s+/g, ' ').trim();
  return text === '' ? 'an empty answer' : `an answer starting with "${text}"`;
}

/**
 * Buffers the first bytes until the format is known, then hands everything
 * to the parser the factory picks for it.
 */
export class SniffingParser<T> implements BodyParser<T> {
  private head: Buffer[] = [];
  private headLength = 0;
  private inner: BodyParser<T> | null = null;

  constructor(private readonly choose: (format: SniffedFormat, head: Buffer) => BodyParser<T>) {}

  write(chunk: Buffer): void {
    if (this.inner) {
      this.inner.write(chunk);
      return;
    }
    this.head.push(chunk);
    this.headLength += chunk.length;
    const head = this.head.length === 1 ? chunk : Buffer.concat(this.head, this.headLength);
    const format = sniffFormat(head, false);
    if (format) this.start(format, head);
  }

  finish(): T {
    if (!this.inner) {
      const head = Buffer.concat(this.head, this.headLength);
      this.start(sniffFormat(head, true)!, head);
    }
    return this.inner!.finish();
  }

  private start(format: SniffedFormat, head: Buffer): void {
    this.inner = this.choose(format, head);
    this.head = [];
    if (head.length > 0) this.inner.write(head);
  }
}
