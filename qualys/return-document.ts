/**
 * Qualys error (and status) documents: SIMPLE_RETURN
 * (`RESPONSE/DATETIME, CODE, TEXT, ITEM_LIST/ITEM(KEY, VALUE)`) and the older
 * GENERIC_RETURN (`RETURN` with a `number` attribute and the text).
 */
import type { SaxesTagPlain } from 'saxes';
import type { QualysReturnDocument } from './errors.js';
import { XmlSource, utf8Text } from './xml-source.js';

export const RETURN_ROOTS = new Set(['SIMPLE_RETURN', 'GENERIC_RETURN']);

function parseCode(value: string | undefined): number | null {
  const trimmed = value?.trim() ?? '';
  return /^\d+$/.test(trimmed) ? Number(trimmed) : null;
}

/** Collects a return document from parser events, below its root element. */
export class ReturnDocumentCollector {
  private readonly path: string[] = [];
  private text = '';
  private code: number | null = null;
  private message: string | null = null;
  private readonly items: Record<string, string> = {};
  private itemKey: string | null = null;
  private itemValue: string | null = null;

  constructor(private readonly root: 'SIMPLE_RETURN' | 'GENERIC_RETURN') {}

  open(tag: SaxesTagPlain): void {
    this.path.push(tag.name);
    this.text = '';
    if (tag.name === 'RETURN' && this.code == null) this.code = parseCode(tag.attributes.number);
    if (tag.name === 'ITEM') this.itemKey = this.itemValue = null;
  }

  addText(text: string): void {
    this.text += text;
  }

  close(tag: SaxesTagPlain): void {
    const value = utf8Text(this.text).trim();
    const parent = this.path[this.path.length - 2];
    this.path.pop();
    this.text = '';
    switch (tag.name) {
      case 'CODE':
        if (parent === 'RESPONSE') this.code = parseCode(value);
        break;
      case 'TEXT':
        if (parent === 'RESPONSE') this.message = value;
        break;
      case 'RETURN':
        this.message ??= value;
        break;
      case 'KEY':
        if (parent === 'ITEM') this.itemKey = value;
        break;
      case 'VALUE':
        if (parent === 'ITEM') this.itemValue = value;
        break;
      case 'ITEM':
        if (this.itemKey != null) this.items[this.itemKey] = this.itemValue ?? '';
        break;
    }
  }

  result(): QualysReturnDocument {
    return { root: this.root, code: this.code, text: this.message, items: this.items };
  }
}

/**
 * Parses a small, fully received body (an error answer) as a return
 * document; null when it is something else (HTML from a proxy, empty, …).
 */
export function parseReturnDocument(body: Buffer): QualysReturnDocument | null {
  const source = new XmlSource();
  let collector: ReturnDocumentCollector | null = null;
  let depth = 0;
  let other = false;
  const { parser } = source;
  parser.on('opentag', (tag) => {
    depth++;
    if (depth === 1) {
      if (RETURN_ROOTS.has(tag.name)) collector = new ReturnDocumentCollector(tag.name as 'SIMPLE_RETURN' | 'GENERIC_RETURN');
      else other = true;
      return;
    }
    collector?.open(tag);
  });
  parser.on('text', (text) => collector?.addText(text));
  parser.on('cdata', (text) => collector?.addText(text));
  parser.on('closetag', (tag) => {
    depth--;
    if (depth > 0) collector?.close(tag);
  });
  try {
    source.write(body);
    source.end();
  } catch {
    // A cut-off or malformed error body still tells us what it had so far.
  }
  const found = collector as ReturnDocumentCollector | null;
  return other || !found ? null : found.result();
}
