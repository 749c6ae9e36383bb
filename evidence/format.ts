/**
 * The media types evidence files are served with. XML and CSV are sealed
 * Qualys list answers; RAW is a custom fetcher's single answer kept as is.
 */
import type { EvidenceFormat } from '../shared/contracts.js';

const SEALED_CONTENT_TYPES = { XML: 'application/xml', CSV: 'text/csv' } as const;
const FALLBACK_CONTENT_TYPE = 'application/octet-stream';
/** type/subtype with optional parameters, as RFC 9110 defines tokens; anything else is not echoed back. */
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+=("[^"\r\n]*"|[!#$%&'*+.^_`|~0-9A-Za-z-]+))*$/;

/**
 * The Content-Type of an evidence file. A raw answer keeps the type Qualys
 * sent when it is a well-formed media type (it is replayed in a response
 * header, so nothing else gets through), else application/octet-stream.
 */
export function evidenceContentType(format: EvidenceFormat, upstreamContentType?: string | null): string {
  if (format !== 'RAW') return SEALED_CONTENT_TYPES[format];
  const upstream = upstreamContentType?.trim();
  return upstream && upstream.length <= 200 && MEDIA_TYPE.test(upstream) ? upstream : FALLBACK_CONTENT_TYPE;
}

const EXTENSIONS_BY_ESSENCE: Record<string, string> = {
  'application/xml': 'xml',
  'text/xml': 'xml',
  'text/csv': 'csv',
  'application/json': 'json',
  'text/plain': 'txt',
};

/** File extension (without dot) for a format and its content type. */
export function evidenceExtension(format: EvidenceFormat, contentType?: string | null): string {
  if (format !== 'RAW') return format.toLowerCase();
  const essence = evidenceContentType('RAW', contentType).split(';')[0]!.trim().toLowerCase();
  return EXTENSIONS_BY_ESSENCE[essence] ?? 'bin';
}
