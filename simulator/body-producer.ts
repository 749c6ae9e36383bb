/** How the server streams any generated answer: one piece at a time, into a ChunkWriter. */
import type { ChunkWriter } from './chunk-writer.js';

export interface BodyProducer {
  /** Renders the next piece; returns false once the document is complete. */
  step(writer: ChunkWriter): boolean;
}

/** What every generated document needs to know about its request. */
export interface RenderContext {
  /** Scheme, host and port the client used, e.g. `http://127.0.0.1:41234`. */
  readonly baseUrl: string;
  /** Request path, e.g. `/api/5.0/fo/asset/host/vm/detection/`. */
  readonly path: string;
  /** The answer's DATETIME. */
  readonly datetime: string;
  readonly userLogin: string;
  /** A trial subscription: comments around the root element. */
  readonly trial: boolean;
  /** Break the document in the middle (fault injection); decided after the request is validated. */
  malformed: boolean;
  /** Make a Host List Detection XML answer hostile (fault injection), likewise. */
  hostile?: HostileDocument | null;
}

export const HOSTILE_DOCUMENTS = ['internal-dtd', 'billion-laughs', 'stuck-cursor'] as const;
export type HostileDocument = (typeof HOSTILE_DOCUMENTS)[number];

/** Qualys appends this comment after the root element of its XML answers. */
export const XML_TRAILER =
  '<!-- CONFIDENTIAL AND PROPRIETARY INFORMATION. Qualys provides the QualysGuard Service "As Is," without any warranty of any kind. Qualys makes no warranty that the information contained in this report is complete or error-free. Copyright 2026, Qualys, Inc. //-->\n';

/** Well-formedness breakers injected by the malformed-document faults. */
export const XML_GARBAGE = '\n<HOST><ID>0</I D><BROKEN attr=>&bogus;<<\n';
export const CSV_GARBAGE = '"0","unterminated field,\n"oops" "x\n';

/** Trial and evaluation subscriptions wrap the root element in comments (the simulator's own wording). */
const TRIAL_BEFORE = '<!-- Evaluation subscription: the hosts and findings below are sample data for a trial. -->\n';
const TRIAL_AFTER = '<!-- End of evaluation data. -->\n';

export function xmlHead(root: string, dtdUrl: string, trial = false, hostile: HostileDocument | null = null): string {
  return `<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE ${root} SYSTEM "${dtdUrl}"${internalSubset(hostile)}>\n${trial ? TRIAL_BEFORE : ''}<${root}>\n`;
}

/** The DOCTYPE internal subsets of the hostile documents; Qualys never sends one. */
function internalSubset(hostile: HostileDocument | null): string {
  if (hostile === 'internal-dtd') return ' [\n  <!ENTITY vendor "Qualys">\n]';
  if (hostile !== 'billion-laughs') return '';
  const levels = ['  <!ENTITY lol0 "lol">'];
  for (let i = 1; i <= 9; i++) levels.push(`  <!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
  return ` [\n${levels.join('\n')}\n]`;
}

/** The end tag of a data answer's root, the trial comment and the confidentiality comment. */
export function xmlTail(root: string, trial = false): string {
  return `</${root}>\n${trial ? TRIAL_AFTER : ''}${XML_TRAILER}`;
}

/**
 * A document written as a head, a body in pieces (each piece at most a
 * chunk, so the server can apply backpressure between them), and a tail.
 */
export abstract class SectionedProducer implements BodyProducer {
  private phase: 'head' | 'body' | 'tail' | 'done' = 'head';

  protected abstract head(w: ChunkWriter): void;
  /** Writes the next piece of the body; returns false once the body is complete. */
  protected abstract body(w: ChunkWriter): boolean;
  protected abstract tail(w: ChunkWriter): void;

  step(w: ChunkWriter): boolean {
    switch (this.phase) {
      case 'head':
        this.head(w);
        this.phase = 'body';
        return true;
      case 'body':
        if (!this.body(w)) this.phase = 'tail';
        return true;
      case 'tail':
        this.tail(w);
        this.phase = 'done';
        return false;
      case 'done':
        return false;
    }
  }
}
