/**
 * Hand-built raw pages shaped like Qualys Host List Detection answers (XML
 * and CSV), with their layouts found the way a reader would: by locating the
 * markers in the bytes. Shared by the evidence sealing tests.
 */
import type { CsvLayout, XmlLayout } from '../qualys/page-summary.js';

export const HLD_ROOT = 'HOST_LIST_VM_DETECTION_OUTPUT';
const API = 'https://qualysapi.qualys.com/api/5.0/fo/asset/host/vm/detection/';

/** One HOST element, indented as Qualys does, with CDATA, entity escapes and multi-byte UTF-8. */
export function hldHostXml(id: number): string {
  const detection = (qid: number, severity: number) =>
    [
      '          <DETECTION>',
      `            <UNIQUE_VULN_ID>${id * 100 + severity}</UNIQUE_VULN_ID>`,
      `            <QID>${qid}</QID>`,
      '            <TYPE>Confirmed</TYPE>',
      `            <SEVERITY>${severity}</SEVERITY>`,
      '            <PORT>443</PORT>',
      '            <PROTOCOL>tcp</PROTOCOL>',
      `            <RESULTS><![CDATA[Cipher\tKey size\nTLS_RSA_WITH_3DES_EDE_CBC_SHA\t168 &apos;weak&apos; — 暗号 🔒\n]]></RESULTS>`,
      '            <STATUS>Active</STATUS>',
      '            <FIRST_FOUND_DATETIME>2025-01-02T03:04:05Z</FIRST_FOUND_DATETIME>',
      '          </DETECTION>',
    ].join('\n');
  return [
    '      <HOST>',
    `        <ID>${id}</ID>`,
    `        <IP>10.0.${(id >> 8) & 255}.${id & 255}</IP>`,
    '        <TRACKING_METHOD>IP</TRACKING_METHOD>',
    '        <OS><![CDATA[Windows Server 2019 — Datacenter]]></OS>',
    `        <DNS><![CDATA[srv-${id}.münchen.example.com]]></DNS>`,
    `        <NETBIOS><![CDATA[SRV-${id}]]></NETBIOS>`,
    '        <LAST_SCAN_DATETIME>2026-11-20T10:00:00Z</LAST_SCAN_DATETIME>',
    '        <DETECTION_LIST>',
    detection(38170, 3),
    detection(90882, 5),
    '        </DETECTION_LIST>',
    '      </HOST>',
  ].join('\n');
}

export interface XmlPageOptions {
  /** Record elements, in order; none means an empty result without a list element. */
  records: string[];
  /** id_min of the next page when this page is truncated. */
  nextIdMin?: number | null;
  datetime?: string;
  root?: string;
  list?: string;
  /**
   * indented: the list's content is indented like Qualys output, so page joins show the indentation;
   * compact: nothing between the last record and the end tag, so a merge equals one unpaged answer.
   */
  style?: 'indented' | 'compact';
}

export function xmlPage({ records, nextIdMin = null, datetime = '2026-11-28T10:00:00Z', root = HLD_ROOT, list = 'HOST_LIST', style = 'indented' }: XmlPageOptions): Buffer {
  const listXml =
    records.length === 0
      ? ''
      : style === 'indented'
        ? `    <${list}>\n${records.join('\n')}\n    </${list}>\n`
        : `    <${list}>${records.join('')}</${list}>\n`;
  const warning =
    nextIdMin === null
      ? ''
      : [
          '    <WARNING>',
          '      <CODE>1980</CODE>',
          `      <TEXT>${records.length} record limit exceeded. Use URL to get next batch of results.</TEXT>`,
          `      <URL><![CDATA[${API}?action=list&truncation_limit=${records.length}&id_min=${nextIdMin}]]></URL>`,
          '    </WARNING>\n',
        ].join('\n');
  return Buffer.from(
    '<?xml version="1.0" encoding="UTF-8" ?>\n' +
      `<!DOCTYPE ${root} SYSTEM "https://qualysapi.qualys.com/api/2.0/fo/asset/host/vm/detection/host_list_vm_detection_output.dtd">\n` +
      '<!-- This is a trial account. Trial accounts show sample data. -->\n' +
      `<${root}>\n  <RESPONSE>\n    <DATETIME>${datetime}</DATETIME>\n${listXml}${warning}  </RESPONSE>\n</${root}>\n` +
      '<!-- CONFIDENTIAL AND PROPRIETARY INFORMATION. Qualys provides the QualysGuard Service "As Is," without any warranty of any kind. -->\n',
    'utf8',
  );
}

export function xmlLayoutOf(page: Buffer, root = HLD_ROOT, list = 'HOST_LIST'): XmlLayout {
  const find = (tag: string) => {
    const start = page.indexOf(tag);
    return start < 0 ? null : { start, end: start + Buffer.byteLength(tag) };
  };
  const warningOpen = find('<WARNING>');
  const warningClose = find('</WARNING>');
  return {
    kind: 'xml',
    root,
    listOpen: find(`<${list}>`),
    listClose: find(`</${list}>`),
    warning: warningOpen && warningClose ? { start: warningOpen.start, end: warningClose.end } : null,
  };
}

export const CSV_COLUMNS = ['Host ID', 'IP Address', 'Tracking Method', 'Operating System', 'DNS Name', 'QID', 'Type', 'Severity', 'Status', 'Results'];

/** One detection row per severity, quoted as Qualys does; Results spans lines and holds quotes and multi-byte text. */
export function hldCsvRows(hostId: number): string[][] {
  return [3, 5].map((severity) => [
    String(hostId),
    `10.0.${(hostId >> 8) & 255}.${hostId & 255}`,
    'IP',
    'Windows Server 2019 — Datacenter',
    `srv-${hostId}.münchen.example.com`,
    String(38170 + severity),
    'Confirmed',
    String(severity),
    'Active',
    `Cipher\tKey size\nTLS_RSA_WITH_3DES_EDE_CBC_SHA\t168 "weak" 暗号 🔒`,
  ]);
}

export interface CsvPageOptions {
  rows: string[][];
  nextIdMin?: number | null;
  eol?: '\n' | '\r\n';
  columns?: string[];
}

export function csvPage({ rows, nextIdMin = null, eol = '\n', columns = CSV_COLUMNS }: CsvPageOptions): Buffer {
  const line = (fields: string[]) => fields.map((f) => `"${f.replaceAll('"', '""')}"`).join(',') + eol;
  const footer =
    nextIdMin === null
      ? line(['Status Message']) + line(['Finished'])
      : line(['Status Message', 'Next ID', 'Next URL']) +
        line(['Truncated', String(nextIdMin), `${API}?action=list&output_format=CSV&truncation_limit=2&id_min=${nextIdMin}`]);
  return Buffer.from(
    `----BEGIN_RESPONSE_HEADER_CSV${eol}` +
      line(['Request Parameter', 'Value']) +
      line(['action', 'list']) +
      line(['output_format', 'CSV']) +
      `----END_RESPONSE_HEADER_CSV${eol}` +
      `----BEGIN_RESPONSE_BODY_CSV${eol}` +
      // Like Qualys, an empty body has no column-header row either.
      (rows.length > 0 ? line(columns) : '') +
      rows.map(line).join('') +
      `----END_RESPONSE_BODY_CSV${eol}` +
      `----BEGIN_RESPONSE_FOOTER_CSV${eol}` +
      footer +
      `----END_RESPONSE_FOOTER_CSV${eol}`,
    'utf8',
  );
}

export function csvLayoutOf(page: Buffer): CsvLayout {
  const lineEndAfter = (marker: string) => page.indexOf('\n', page.indexOf(marker)) + 1;
  const bodyStart = lineEndAfter('----BEGIN_RESPONSE_BODY_CSV');
  const footerStart = page.indexOf('----BEGIN_RESPONSE_FOOTER_CSV');
  return {
    kind: 'csv',
    bodyStart,
    // The column-header row, when there is one, holds no line break inside quotes.
    rowsStart: bodyStart === page.indexOf('----END_RESPONSE_BODY_CSV') ? bodyStart : page.indexOf('\n', bodyStart) + 1,
    bodyEnd: page.indexOf('----END_RESPONSE_BODY_CSV'),
    footer: footerStart < 0 ? null : { start: footerStart, end: lineEndAfter('----END_RESPONSE_FOOTER_CSV') },
  };
}
