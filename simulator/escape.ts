/**
 * Text escaping as Qualys does it. Qualys wraps text in CDATA *and* entity-escapes
 * it, so a reader sees `&apos;` literally; `]]>` can never occur inside because
 * `>` is escaped too.
 */
const XML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const XML_SPECIAL = /[&<>"']/g;

export function escapeXml(text: string): string {
  return text.replace(XML_SPECIAL, (c) => XML_ENTITIES[c]!);
}

export function cdata(text: string): string {
  return `<![CDATA[${escapeXml(text)}]]>`;
}

/** A quoted CSV field; empty values stay unquoted, as in Qualys CSV. */
export function csvField(text: string): string {
  return text === '' ? '' : `"${text.replaceAll('"', '""')}"`;
}
