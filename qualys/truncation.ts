/**
 * The truncation cursor: Qualys ends a partial list with a WARNING (CODE 1980)
 * whose URL repeats the request with `id_min=<next ID>`. We only take the
 * `id_min` from it and issue our own request against the known API host.
 */
import { QualysProtocolError, QualysSecurityError } from './errors.js';

export const TRUNCATION_WARNING_CODE = 1980;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Qualys entity-escapes text even inside CDATA (`&amp;` in a URL); undo that. */
export function decodeXmlEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (whole, name: string) => {
    const lower = name.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10));
    return ENTITIES[lower] ?? whole;
  });
}

function parseUrl(url: string): URL | null {
  try {
    return new URL(decodeXmlEntities(url.trim()));
  } catch {
    return null;
  }
}

/** `id_min` of a truncation URL, or null when it has none (no host check: see nextIdMinFromUrl). */
export function idMinFromUrl(url: string): number | null {
  const value = parseUrl(url)?.searchParams.get('id_min');
  if (value == null || !/^\d+$/.test(value.trim())) return null;
  const id = Number(value.trim());
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

/**
 * The next page's `id_min` from a truncation URL, refusing a URL that names
 * another host than the connection's API server.
 */
export function nextIdMinFromUrl(url: string, expectedOrigin: string | URL): number {
  const parsed = parseUrl(url);
  if (!parsed) throw new QualysProtocolError(`the truncation URL "${url}" is not a valid URL`);
  const expected = new URL(expectedOrigin).origin;
  if (parsed.origin !== expected) {
    throw new QualysSecurityError(`the truncation URL points to ${parsed.origin}, not to the connection's API server ${expected}; it is not followed`);
  }
  const id = idMinFromUrl(url);
  if (id == null) throw new QualysProtocolError(`the truncation URL "${parsed.pathname}${parsed.search}" carries no usable id_min`);
  return id;
}
