/**
 * Feeds raw answer bytes to a saxes parser so that parser positions are
 * exact byte offsets in the raw answer.
 *
 * The trick: bytes are decoded as Latin-1, one character per byte. XML markup
 * is ASCII, so saxes sees the same structure it would see in the UTF-8
 * decoding (multi-byte characters become runs of U+0080–U+00FF, which XML
 * allows in text), every text position equals the byte offset, and decoding
 * costs a fraction of UTF-8 decoding. The few values that may hold non-ASCII
 * text (warning URL and text, error text) are re-decoded as UTF-8 with
 * `utf8Text`. This keeps the answer byte-faithful whatever it contains.
 *
 * Speed: saxes accumulates the text of every CDATA section even when nobody
 * listens, and Qualys puts all RESULTS (most of the bytes) in CDATA. When no
 * CDATA handler is set, `skipUnwantedCData` lets the parser jump to the next
 * ']' instead (about 15% of the whole parse). It relies on saxes 6's
 * internal state table, so it is only installed after checking that the
 * table is laid out as expected; otherwise parsing simply stays unpatched.
 *
 * Allocation: saxes gives every start tag a fresh `Object.create(null)` for
 * its attributes (a dictionary-mode object, about 70 % of all the bytes a
 * page's parse allocates) and a fresh attribute list; Qualys's detection
 * elements carry no attributes. `installLeanOpenTags` gives attribute-less
 * tags one shared, frozen empty object and makes the dictionary only for a
 * tag that has attributes. Fewer bytes allocated is fewer young-generation
 * collections, which matters most in a worker with a small young generation.
 * Checked and installed like the CDATA shortcut.
 *
 * Security: saxes never fetches a DTD and does not process entity
 * declarations. A DOCTYPE naming an external DTD (Qualys always sends one) is
 * tolerated; one with an internal subset (`<!DOCTYPE x [ <!ENTITY …> ]>`, as
 * in billion-laughs documents) is refused as a QualysSecurityError, which is
 * not retried: Qualys never sends one, and asking again returns the same
 * document. A reference to any entity other than the five XML built-ins is
 * an error and is never expanded. Nesting deeper than MAX_DEPTH and a text
 * node the parser would have to hold beyond MAX_PENDING_TEXT fail as a
 * QualysContractError, so a hostile answer cannot grow memory without bound.
 * Both limits read saxes 6 internals (checked like the CDATA shortcut below;
 * with another layout they are simply not applied).
 */
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { QualysContractError, QualysError, QualysProtocolError, QualysSecurityError } from './errors.js';
import type { ByteRange } from './page-summary.js';

/** A start tag longer than this (attributes included) is not something Qualys sends. */
const MAX_TAG_LENGTH = 16 * 1024;

/** Far deeper than any Qualys answer (about 10 levels). */
export const MAX_DEPTH = 256;
/** The most text the parser may hold for one node (or one DOCTYPE) before a listener takes it. */
export const MAX_PENDING_TEXT = 16 * 1024 * 1024;

/** The UTF-8 byte order mark, as Latin-1 text. */
const BOM = '\xef\xbb\xbf';

interface WindowChunk {
  text: string;
  /** Position (= byte offset, minus a skipped BOM) of text[0]. */
  start: number;
}

/** Re-decodes text that saxes produced from Latin-1-decoded bytes as the UTF-8 it really was. */
export function utf8Text(latin1: string): string {
  if (!/[\u0080-\uffff]/.test(latin1)) return latin1;
  // A character above U+00FF came from a numeric character reference and is already right.
  if (/[\u0100-\uffff]/.test(latin1)) return latin1;
  return Buffer.from(latin1, 'latin1').toString('utf8');
}

/** saxes 6 state numbers (see its S_* constants). */
const S_CDATA = 20;
const S_CDATA_ENDING = 21;
const S_OPEN_TAG = 34;
const S_OPEN_TAG_SLASH = 35;
const S_ATTRIB = 36;
/** What saxes's captureNameChars returns at the end of a chunk. */
const EOC = -1;

/** The saxes internals the CDATA shortcut and the size limits touch. */
interface SaxesInternals {
  stateTable: ((this: SaxesInternals) => void)[];
  chunk: string;
  i: number;
  prevI: number;
  state: number;
  cdataHandler: unknown;
  /** Text collected for the node (or DOCTYPE) being read. */
  text: string;
  /** Open elements. */
  tags: unknown[];
}

/** The further saxes internals the lean open tags touch. */
interface SaxesTagInternals extends SaxesInternals {
  name: string;
  tag: { name: string; attributes: Record<string, string>; isSelfClosing: boolean } | null;
  attribList: unknown[];
  xmlnsOpt: boolean;
  fragmentOpt: boolean;
  closedRoot: boolean;
  sawRoot: boolean;
  openTagStartHandler: ((tag: unknown) => void) | undefined;
  captureNameChars(): number;
  openTag(): void;
  fail(message: string): void;
  processAttribs(): void;
}

/** Throws when the parser holds more than the limits allow; a no-op when saxes is not laid out as expected. */
function sizeGuard(parser: object): () => void {
  const internals = parser as unknown as SaxesInternals;
  if (typeof internals.text !== 'string' || !Array.isArray(internals.tags)) return () => {};
  return () => {
    if (internals.tags.length > MAX_DEPTH) throw new QualysContractError(`the XML nests elements more than ${MAX_DEPTH} deep; no Qualys answer does`);
    if (internals.text.length > MAX_PENDING_TEXT) {
      throw new QualysContractError(`the XML holds a single text node or DOCTYPE of more than ${MAX_PENDING_TEXT / 1024 / 1024} MB; no Qualys answer does`);
    }
  };
}

/** True for DOCTYPE text (what saxes reports between `<!DOCTYPE` and `>`) with an internal subset: a `[` outside quoted literals. */
function hasInternalSubset(doctype: string): boolean {
  return doctype.replace(/"[^"]*"|'[^']*'/g, '').includes('[');
}

function installCDataShortcut(parser: object): void {
  const internals = parser as unknown as SaxesInternals;
  const proto = SaxesParser.prototype as unknown as Record<string, unknown>;
  const table = internals.stateTable;
  if (!Array.isArray(table) || table[S_CDATA] !== proto.sCData || table[S_CDATA_ENDING] !== proto.sCDataEnding) return;
  const original = table[S_CDATA]!;
  table[S_CDATA] = function skipUnwantedCData(this: SaxesInternals) {
    if (this.cdataHandler !== undefined) {
      original.call(this);
      return;
    }
    const { chunk, i } = this;
    const bracket = chunk.indexOf(']', i);
    if (bracket < 0) {
      this.prevI = chunk.length - 1;
      this.i = chunk.length;
      return;
    }
    this.prevI = bracket;
    this.i = bracket + 1;
    this.state = S_CDATA_ENDING;
  };
}

/** The attributes of every tag that has none: shared, so frozen. */
const NO_ATTRIBUTES: Record<string, string> = Object.freeze(Object.create(null) as Record<string, string>);

/** XML's white space: space, tab, line feed, carriage return. */
const isXmlSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function installLeanOpenTags(parser: object): void {
  const internals = parser as unknown as SaxesTagInternals;
  const proto = SaxesParser.prototype as unknown as Record<string, unknown>;
  const table = internals.stateTable;
  const laidOut =
    Array.isArray(table) &&
    table[S_OPEN_TAG] === proto.sOpenTag &&
    table[S_OPEN_TAG_SLASH] === proto.sOpenTagSlash &&
    table[S_ATTRIB] === proto.sAttrib &&
    internals.processAttribs === proto.processAttribsPlain &&
    internals.xmlnsOpt === false &&
    Array.isArray(internals.attribList) &&
    typeof internals.captureNameChars === 'function' &&
    typeof internals.openTag === 'function';
  if (!laidOut) return;
  // saxes's sOpenTag without xmlns, but the tag takes the shared empty attributes (and its isSelfClosing slot at once).
  (table as ((this: SaxesTagInternals) => void)[])[S_OPEN_TAG] = function leanOpenTag(this: SaxesTagInternals) {
    const c = this.captureNameChars();
    if (c === EOC) return;
    const tag = (this.tag = { name: this.name, attributes: NO_ATTRIBUTES, isSelfClosing: false });
    this.name = '';
    this.openTagStartHandler?.call(this, tag);
    this.sawRoot = true;
    if (!this.fragmentOpt && this.closedRoot) this.fail('documents may contain only one root.');
    if (c === 0x3e /* > */) this.openTag();
    else if (c === 0x2f /* / */) this.state = S_OPEN_TAG_SLASH;
    else {
      if (!isXmlSpace(c)) this.fail('disallowed character in tag name.');
      this.state = S_ATTRIB;
    }
  };
  const processAttribsPlain = internals.processAttribs;
  internals.processAttribs = function leanProcessAttribs(this: SaxesTagInternals) {
    if (this.attribList.length === 0) return;
    this.tag!.attributes = Object.create(null) as Record<string, string>;
    processAttribsPlain.call(this);
  };
}

export class XmlSource {
  /** Line/column tracking is off: error messages give exact byte offsets instead. */
  readonly parser = new SaxesParser<{ xmlns: false; position: false }>({ xmlns: false, position: false });
  /** Bytes skipped before the parser's position 0 (a UTF-8 byte order mark). */
  private base = 0;
  private started = false;
  private pendingBomPrefix = '';
  private readonly window: WindowChunk[] = [];
  private windowLength = 0;
  private fed = 0;
  private current: WindowChunk = { text: '', start: 0 };

  private readonly checkSizes = sizeGuard(this.parser);

  /** A leaf element whose text arrives through parser events (see readLeaf). */
  private leaf: { tag: SaxesTagPlain; key: number; deliver: (key: number, text: string) => void; text: string } | null = null;
  private readonly onLeafText = (text: string) => {
    this.leaf!.text += text;
  };

  constructor() {
    installCDataShortcut(this.parser);
    installLeanOpenTags(this.parser);
    this.parser.on('error', (err) => {
      // Control characters XML forbids: real answers carry a few in text, and the bytes are kept as they are.
      if (err.message.endsWith('disallowed character.')) return;
      throw err;
    });
    this.parser.on('doctype', (doctype) => {
      if (hasInternalSubset(doctype)) {
        throw new QualysSecurityError('the XML declares its own DTD (a DOCTYPE with an internal subset, where entities are declared); Qualys never sends one, and it is not read');
      }
    });
  }

  write(chunk: Buffer): void {
    let text = chunk.toString('latin1');
    if (!this.started) {
      text = this.pendingBomPrefix + text;
      if (text.length < BOM.length && BOM.startsWith(text)) {
        // Too short to tell whether a byte order mark is complete: wait for more.
        this.pendingBomPrefix = text;
        return;
      }
      this.pendingBomPrefix = '';
      this.started = true;
      if (text.startsWith(BOM)) {
        this.base = BOM.length;
        text = text.slice(BOM.length);
      }
    }
    if (text.length === 0) return;
    const entry: WindowChunk = { text, start: this.fed };
    this.fed += text.length;
    this.window.push(entry);
    this.windowLength += text.length;
    while (this.window.length > 2 && this.windowLength - this.window[0]!.text.length >= MAX_TAG_LENGTH) {
      this.windowLength -= this.window.shift()!.text.length;
    }
    this.current = entry;
    this.guard(() => this.parser.write(text));
    this.checkSizes();
  }

  end(): void {
    if (!this.started && this.pendingBomPrefix !== '') {
      this.started = true;
      const text = this.pendingBomPrefix;
      this.pendingBomPrefix = '';
      this.guard(() => this.parser.write(text));
    }
    this.guard(() => this.parser.close());
  }

  /** Byte offset in the raw answer right after the last character the parser consumed. */
  get byteOffset(): number {
    return this.parser.position + this.base;
  }

  /** Byte range of the tag whose '>' the parser has just consumed. */
  tagRangeEndingHere(): ByteRange {
    const end = this.parser.position;
    return { start: this.tagStartBefore(end) + this.base, end: end + this.base };
  }

  /** Byte offset where the tag ending at the current position starts. */
  tagStartOffset(): number {
    return this.tagStartBefore(this.parser.position) + this.base;
  }

  /**
   * The plain character data from the current position up to the next end
   * tag, read straight from the decoded text, when it is all in the current
   * chunk and has no entity, CDATA, comment or child element in it; otherwise
   * null, and the caller collects the text through parser events instead.
   */
  peekSimpleText(): string | null {
    const { text, start } = this.current;
    const from = this.parser.position - start;
    const lt = text.indexOf('<', from);
    if (lt < 0 || text.charCodeAt(lt + 1) !== 47 /* '/' */) return null;
    const value = text.slice(from, lt);
    return value.includes('&') ? null : value;
  }

  /**
   * Reads the text of the leaf element `tag` just opened and hands it, with
   * `key`, to `deliver`: at once when it is plain text in this chunk (the
   * common case, no event handlers involved), else once closeLeaf sees the
   * element end. `deliver` should be one function made once: this runs for
   * every host and detection.
   */
  readLeaf<K extends number>(tag: SaxesTagPlain, key: K, deliver: (key: K, text: string) => void): void {
    if (tag.isSelfClosing) return deliver(key, '');
    const value = this.peekSimpleText();
    if (value != null) return deliver(key, value);
    this.leaf = { tag, key, deliver: deliver as (key: number, text: string) => void, text: '' };
    this.parser.on('text', this.onLeafText);
    this.parser.on('cdata', this.onLeafText);
  }

  /** True when `tag` closes the leaf readLeaf is collecting, whose text is then delivered. */
  closeLeaf(tag: SaxesTagPlain): boolean {
    const leaf = this.leaf;
    if (leaf === null || leaf.tag !== tag) return false;
    this.parser.off('text');
    this.parser.off('cdata');
    this.leaf = null;
    leaf.deliver(leaf.key, leaf.text);
    return true;
  }

  /** Position of the '<' that opens the tag ending at `end` ('<' cannot occur inside a tag). */
  private tagStartBefore(end: number): number {
    for (let i = this.window.length - 1; i >= 0; i--) {
      const chunk = this.window[i]!;
      if (chunk.start >= end) continue;
      const lt = chunk.text.lastIndexOf('<', Math.min(end - chunk.start, chunk.text.length) - 1);
      if (lt >= 0) return chunk.start + lt;
    }
    throw new QualysProtocolError(`a tag longer than ${MAX_TAG_LENGTH} bytes`);
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (err instanceof QualysError) throw err;
      throw new QualysProtocolError(describeXmlError((err as Error).message, this.byteOffset));
    }
  }
}

function describeXmlError(message: string, at: number): string {
  const unclosed = /unclosed tag: (\S+)/.exec(message);
  if (unclosed) return `the XML document ends early: <${unclosed[1]}> is never closed (the answer was cut off at byte ${at})`;
  if (message.includes('document must contain a root element')) return 'the answer is empty: no XML root element';
  if (message.includes('undefined entity')) return `the XML uses an entity that is not one of the XML built-ins, near byte ${at}; entities are never expanded`;
  return `the answer is not well-formed XML near byte ${at}: ${message}`;
}
