/**
 * Helpers for the simulator's tests: authenticated calls, a tiny saxes-based
 * element tree, readers for Host List Detection answers (XML and CSV), and a
 * loop that follows the truncation chain.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { SaxesParser } from 'saxes';
import type { SimulatorHandle } from '../simulator/server.js';

export const HLD_PATH = '/api/5.0/fo/asset/host/vm/detection/';

export function basic(user = 'demo', password = 'demo-pass'): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

export interface CallOptions {
  method?: 'GET' | 'POST';
  user?: string;
  password?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Calls an API path with Basic auth and X-Requested-With; POST sends a form body. */
export function call(sim: { readonly url: string }, path: string, params: Record<string, string>, options: CallOptions = {}): Promise<Response> {
  const method = options.method ?? 'POST';
  const headers: Record<string, string> = {
    Authorization: basic(options.user, options.password),
    'X-Requested-With': 'simulator-tests',
    ...options.headers,
  };
  const query = new URLSearchParams(params).toString();
  if (method === 'GET') return fetch(`${sim.url}${path}?${query}`, { headers, signal: options.signal ?? null });
  return fetch(`${sim.url}${path}`, {
    method,
    headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: query,
    signal: options.signal ?? null,
  });
}

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text and CDATA content, raw (entity escapes inside CDATA stay as they are). */
  text: string;
}

export interface XmlDocument {
  doctype: string | null;
  comments: string[];
  root: XmlElement;
}

/** Parses a whole document with saxes (throws on any well-formedness error). */
export function parseXml(xml: string): XmlDocument {
  const parser = new SaxesParser();
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  let doctype: string | null = null;
  const comments: string[] = [];
  parser.on('doctype', (d) => (doctype = d));
  parser.on('comment', (c) => comments.push(c));
  parser.on('opentag', (tag) => {
    const el: XmlElement = { name: tag.name, attributes: { ...(tag.attributes as Record<string, string>) }, children: [], text: '' };
    if (stack.length > 0) stack[stack.length - 1]!.children.push(el);
    else root = el;
    stack.push(el);
  });
  parser.on('text', (t) => {
    if (stack.length > 0) stack[stack.length - 1]!.text += t;
  });
  parser.on('cdata', (t) => {
    stack[stack.length - 1]!.text += t;
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  parser.write(xml).close();
  if (!root) throw new Error('no root element');
  return { doctype, comments, root };
}

export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

export function childText(el: XmlElement, name: string): string | undefined {
  return child(el, name)?.text.trim();
}

/** Undoes the entity escapes Qualys puts inside CDATA. */
export function unescapeQualys(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e]!);
}

export interface HldDetection {
  qid: number;
  type: string;
  /** null when the detection has no SEVERITY element. */
  severity: number | null;
  /** null when the detection has no STATUS element. */
  status: string | null;
  port: number | null;
  results: string | null;
  affectsRunningKernel: string | null;
  children: string[];
}

export interface HldHost {
  id: number;
  ip: string;
  os: string;
  lastVmScannedDate: string;
  children: string[];
  detections: HldDetection[];
}

export interface HldPage {
  doc: XmlDocument;
  datetime: string;
  hasHostList: boolean;
  hosts: HldHost[];
  warning: { code: string; text: string; url: string } | null;
}

export function readHldXml(xml: string): HldPage {
  const doc = parseXml(xml);
  const response = child(doc.root, 'RESPONSE')!;
  const list = child(response, 'HOST_LIST');
  const warning = child(response, 'WARNING');
  const hosts = (list?.children ?? []).map((h) => ({
    id: Number(childText(h, 'ID')),
    ip: childText(h, 'IP')!,
    os: unescapeQualys(childText(h, 'OS') ?? ''),
    lastVmScannedDate: childText(h, 'LAST_VM_SCANNED_DATE')!,
    children: h.children.map((c) => c.name),
    detections: (child(h, 'DETECTION_LIST')?.children ?? []).map((d) => {
      const port = childText(d, 'PORT');
      const results = child(d, 'RESULTS');
      const severity = childText(d, 'SEVERITY');
      return {
        qid: Number(childText(d, 'QID')),
        type: childText(d, 'TYPE')!,
        severity: severity === undefined ? null : Number(severity),
        status: childText(d, 'STATUS') ?? null,
        port: port === undefined ? null : Number(port),
        results: results ? unescapeQualys(results.text) : null,
        affectsRunningKernel: childText(d, 'AFFECT_RUNNING_KERNEL') ?? null,
        children: d.children.map((c) => c.name),
      };
    }),
  }));
  return {
    doc,
    datetime: childText(response, 'DATETIME')!,
    hasHostList: list !== undefined,
    hosts,
    warning: warning ? { code: childText(warning, 'CODE')!, text: childText(warning, 'TEXT')!, url: childText(warning, 'URL')! } : null,
  };
}

export interface CsvAnswer {
  /** Marker line → the lines between it and its END marker. */
  sections: Record<string, string>;
  rows: Array<Record<string, string>>;
  footer: string[][];
}

/** Splits a CSV answer into its marker sections and parses body and footer with csv-parse. */
export function readHldCsv(text: string): CsvAnswer {
  const sections: Record<string, string> = {};
  const re = /----BEGIN_(\w+)\n([\s\S]*?)----END_\1\n/g;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index !== consumed) throw new Error(`unexpected text before ${m[1]}: ${JSON.stringify(text.slice(consumed, m.index))}`);
    sections[m[1]!] = m[2]!;
    consumed = m.index + m[0].length;
  }
  if (consumed !== text.length) throw new Error(`unexpected trailing text: ${JSON.stringify(text.slice(consumed, consumed + 200))}`);
  const body = sections['RESPONSE_BODY_CSV'] ?? '';
  return {
    sections,
    rows: body === '' ? [] : (parseCsv(body, { columns: true }) as Array<Record<string, string>>),
    footer: parseCsv(sections['RESPONSE_FOOTER_CSV'] ?? '', { relax_column_count: true }) as string[][],
  };
}

/** Follows the truncation chain from the first answer; returns every page. */
export async function pullAllXml(sim: SimulatorHandle, params: Record<string, string>, path = HLD_PATH): Promise<HldPage[]> {
  const pages: HldPage[] = [];
  let current: Record<string, string> = { action: 'list', ...params };
  for (;;) {
    const res = await call(sim, path, current);
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    const page = readHldXml(await res.text());
    pages.push(page);
    if (!page.warning) return pages;
    const next = new URL(page.warning.url);
    current = Object.fromEntries(next.searchParams.entries());
  }
}

export function simpleReturn(xml: string): { code: number; text: string; items: Record<string, string> } {
  const doc = parseXml(xml);
  if (doc.root.name !== 'SIMPLE_RETURN') throw new Error(`expected SIMPLE_RETURN, got ${doc.root.name}`);
  const response = child(doc.root, 'RESPONSE')!;
  const items = Object.fromEntries(
    (child(response, 'ITEM_LIST')?.children ?? []).map((i) => [childText(i, 'KEY')!, childText(i, 'VALUE')!]),
  );
  return { code: Number(childText(response, 'CODE')), text: childText(response, 'TEXT')!, items };
}
