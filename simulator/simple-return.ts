/**
 * SIMPLE_RETURN documents: how Qualys answers errors and a few non-errors.
 * Unlike data answers they carry no confidentiality comment, and login and
 * account errors come without the XML declaration line.
 */
import { cdata, escapeXml } from './escape.js';

export interface SimpleReturnOptions {
  /** Write the `<?xml …?>` line (login and account errors have none). */
  declaration: boolean;
}

export function simpleReturnXml(
  baseUrl: string,
  datetime: string,
  code: number,
  text: string,
  items: ReadonlyArray<readonly [string, string]> = [],
  options: SimpleReturnOptions = { declaration: true },
): string {
  let body = options.declaration ? '<?xml version="1.0" encoding="UTF-8" ?>\n' : '';
  body += `<!DOCTYPE SIMPLE_RETURN SYSTEM "${baseUrl}/api/2.0/simple_return.dtd">\n<SIMPLE_RETURN>\n`;
  body += `  <RESPONSE>\n    <DATETIME>${datetime}</DATETIME>\n    <CODE>${code}</CODE>\n    <TEXT>${escapeXml(text)}</TEXT>\n`;
  if (items.length > 0) {
    body += '    <ITEM_LIST>\n';
    for (const [key, value] of items) body += `      <ITEM>\n        <KEY>${escapeXml(key)}</KEY>\n        <VALUE>${cdata(value)}</VALUE>\n      </ITEM>\n`;
    body += '    </ITEM_LIST>\n';
  }
  return body + '  </RESPONSE>\n</SIMPLE_RETURN>\n';
}
