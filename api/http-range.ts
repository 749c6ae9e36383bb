/**
 * The conditional and range parts of HTTP downloads (RFC 9110 §13–14) that
 * evidence downloads need: one byte range per request (`a-b`, `a-`, `-n`),
 * `If-Range` against the strong ETag, and `If-None-Match`.
 */

/** Bytes [start, end) of a representation: `end` is exclusive, like the blob store's. */
export interface ByteRange {
  start: number;
  end: number;
}

export type RangeDecision =
  | { kind: 'full' }
  | { kind: 'partial'; range: ByteRange }
  | { kind: 'unsatisfiable'; reason: string };

const SINGLE_RANGE = /^(\d*)-(\d*)$/;

/**
 * What to send for a `Range` header on a representation of `size` bytes.
 * A missing header or a unit other than bytes means the whole body (a
 * server must ignore units it does not know); several ranges, malformed
 * ranges and ranges outside the body are unsatisfiable.
 */
export function decideRange(header: string | undefined, size: number): RangeDecision {
  if (header === undefined) return { kind: 'full' };
  const eq = header.indexOf('=');
  const unit = (eq < 0 ? header : header.slice(0, eq)).trim().toLowerCase();
  if (unit !== 'bytes') return { kind: 'full' };
  const specs = header
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (specs.length !== 1) {
    return { kind: 'unsatisfiable', reason: specs.length === 0 ? 'the Range header names no range' : 'only a single byte range is supported' };
  }
  const match = SINGLE_RANGE.exec(specs[0]!);
  if (!match || (match[1] === '' && match[2] === '')) {
    return { kind: 'unsatisfiable', reason: `"${specs[0]}" is not a byte range (expected first-last, first- or -suffix)` };
  }
  const [, first, last] = match as unknown as [string, string, string];
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable', reason: 'the suffix range selects no bytes' };
    return { kind: 'partial', range: { start: Math.max(0, size - suffix), end: size } };
  }
  const start = Number(first);
  if (!Number.isSafeInteger(start) || start >= size) {
    return { kind: 'unsatisfiable', reason: `the range starts at byte ${first}, but the file has ${size} bytes` };
  }
  if (last === '') return { kind: 'partial', range: { start, end: size } };
  const inclusiveEnd = Number(last);
  if (inclusiveEnd < start) return { kind: 'unsatisfiable', reason: `the range ends (${last}) before it starts (${first})` };
  return { kind: 'partial', range: { start, end: Math.min(inclusiveEnd + 1, size) } };
}

/** `bytes a-b/size` for a 206, or `bytes *\/size` for a 416. */
export function contentRange(range: ByteRange | null, size: number): string {
  return range ? `bytes ${range.start}-${range.end - 1}/${size}` : `bytes */${size}`;
}

/** Entity tags listed in an If-None-Match or If-Range header, without weakness prefixes. */
function entityTags(header: string): string[] {
  return [...header.matchAll(/(?:W\/)?("[^"]*"|\*)/g)].map((m) => m[1]!);
}

/** True when If-None-Match matches the current ETag (weak comparison, as RFC 9110 asks for this header). */
export function noneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return entityTags(header).some((tag) => tag === '*' || tag === etag);
}

/**
 * True when a Range may be honoured: without If-Range, or when If-Range
 * names the current strong ETag. A date or another tag means the client's
 * partial copy is stale, so the whole body is sent instead.
 */
export function ifRangeAllows(header: string | undefined, etag: string): boolean {
  if (header === undefined) return true;
  const value = header.trim();
  return !value.startsWith('W/') && value === etag;
}
