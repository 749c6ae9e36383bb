/** SIMPLE_RETURN documents: how Qualys answers errors and a few non-errors. */
import { cdata, escapeXml } from './escape.js';
import { XML_TRAILER, xmlHead } from './body-producer.js';

export function simpleReturnXml(
  baseUrl: string,
  datetime: string,
  code: number,
  text: string,
  items: ReadonlyArray<readonly [string, string]> = [],
): string {
  let body = xmlHead('SIMPLE_RETURN', `${baseUrl}/api/2.0/simple_return.dtd`);
  body += `  <RESPONSE>\n    <DATETIME>${datetime}</DATETIME>\n    <CODE>${code}</CODE>\n    <TEXT>${escapeXml(text)}</TEXT>\n`;
  if (items.length > 0) {
    body += '    <ITEM_LIST>\n';
    for (const [key, value] of items) body += `      <ITEM>\n        <KEY>${escapeXml(key)}</KEY>\n        <VALUE>${cdata(value)}</VALUE>\n      </ITEM>\n`;
    body += '    </ITEM_LIST>\n';
  }
  return body + `  </RESPONSE>\n</SIMPLE_RETURN>\n${XML_TRAILER}`;
}
