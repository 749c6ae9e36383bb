/**
 * The vulnerabilities (QIDs) this subscription can detect. Type, severity and
 * kernel relation belong to the QID, so filters on them reduce to one lookup
 * per detection.
 */
import { Rng, hash32 } from './prng.js';
import { TYPE_CONFIRMED, TYPE_INFO, TYPE_POTENTIAL } from './vocabulary.js';

/** A power of two, so an odd stride visits distinct QIDs for every host. */
export const CATALOG_SIZE = 2048;

export interface QidCatalog {
  readonly qid: Int32Array;
  readonly type: Uint8Array;
  readonly severity: Uint8Array;
  /** 1 when the vulnerability is in a Linux kernel package. */
  readonly kernel: Uint8Array;
  readonly indexByQid: ReadonlyMap<number, number>;
}

export function buildQidCatalog(seed: number): QidCatalog {
  const rng = new Rng(hash32(seed, 0x91d));
  const qid = new Int32Array(CATALOG_SIZE);
  const type = new Uint8Array(CATALOG_SIZE);
  const severity = new Uint8Array(CATALOG_SIZE);
  const kernel = new Uint8Array(CATALOG_SIZE);
  const indexByQid = new Map<number, number>();
  let next = 6;
  for (let i = 0; i < CATALOG_SIZE; i++) {
    qid[i] = next;
    indexByQid.set(next, i);
    next += 1 + rng.int(240);
    const t = rng.float();
    type[i] = t < 0.2 ? TYPE_INFO : t < 0.45 ? TYPE_POTENTIAL : TYPE_CONFIRMED;
    const s = rng.float();
    // Information-gathered QIDs carry severities 1–3 only, as in Qualys.
    severity[i] =
      type[i] === TYPE_INFO
        ? 1 + Math.floor(s * 3)
        : s < 0.1 ? 1 : s < 0.3 ? 2 : s < 0.65 ? 3 : s < 0.9 ? 4 : 5;
    kernel[i] = type[i] !== TYPE_INFO && rng.float() < 0.08 ? 1 : 0;
  }
  return { qid, type, severity, kernel, indexByQid };
}

const QDS_BASE = [0, 5, 15, 40, 70, 90];
const QDS_LEVELS = ['LOW', 'LOW', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];

/** The Qualys Detection Score (1–100) of a catalog QID: it follows the severity. */
export function qdsOf(catalog: QidCatalog, i: number): number {
  return QDS_BASE[catalog.severity[i]!]! + (catalog.qid[i]! % 10);
}

/** The QDS `severity` attribute: LOW, MEDIUM, HIGH or CRITICAL. */
export function qdsLevelOf(catalog: QidCatalog, i: number): string {
  return QDS_LEVELS[catalog.severity[i]!]!;
}
