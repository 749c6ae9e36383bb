/**
 * Dynamic search lists. Qualys evaluates a dynamic list's criteria against the
 * KnowledgeBase, so for Host List Detection a list is simply a set of QIDs.
 */
import { Rng, hash32 } from './prng.js';
import { CATALOG_SIZE, type QidCatalog } from './qid-catalog.js';
import { TYPE_INFO, TYPE_POTENTIAL } from './vocabulary.js';

export interface SearchList {
  readonly id: number;
  readonly title: string;
  readonly global: boolean;
  readonly owner: string;
  readonly createdAgo: number;
  readonly modifiedAgo: number;
  readonly criteria: string;
  /** Catalog indexes in the list (1 = member). */
  readonly members: Uint8Array;
  readonly qids: readonly number[];
}

interface Kind {
  readonly title: string;
  readonly criteria: string;
  readonly test: (catalog: QidCatalog, i: number, rng: Rng) => boolean;
}

const KINDS: readonly Kind[] = [
  { title: 'Urgent vulnerabilities (severity 5)', criteria: 'Severity: 5', test: (c, i) => c.severity[i] === 5 },
  { title: 'Critical & urgent', criteria: 'Severity: 4,5', test: (c, i) => c.severity[i]! >= 4 },
  { title: 'Linux kernel', criteria: 'Vulnerability title contains: kernel', test: (c, i) => c.kernel[i] === 1 },
  { title: 'Information gathered', criteria: 'Type: Information Gathered', test: (c, i) => c.type[i] === TYPE_INFO },
  { title: "Patch Tuesday 'selection'", criteria: 'Vendor: Microsoft; Published: last 30 days', test: (_c, _i, r) => r.float() < 0.1 },
  { title: 'Potential, severity 3+', criteria: 'Type: Potential; Severity: 3,4,5', test: (c, i) => c.type[i] === TYPE_POTENTIAL && c.severity[i]! >= 3 },
  { title: 'Zertifikate & TLS – Prüfung', criteria: 'Category: General remote services', test: (_c, _i, r) => r.float() < 0.03 },
];

export function buildSearchLists(seed: number, count: number, catalog: QidCatalog): SearchList[] {
  const lists: SearchList[] = [];
  let id = 5200;
  for (let k = 0; k < count; k++) {
    const rng = new Rng(hash32(seed, k, 0x51));
    id += 1 + rng.int(4);
    const kind = KINDS[k % KINDS.length]!;
    const members = new Uint8Array(CATALOG_SIZE);
    const qids: number[] = [];
    for (let i = 0; i < CATALOG_SIZE; i++) {
      if (kind.test(catalog, i, rng)) {
        members[i] = 1;
        qids.push(catalog.qid[i]!);
      }
    }
    const createdAgo = 30 * 86_400 + rng.int(700 * 86_400);
    lists.push({
      id,
      title: k < KINDS.length ? kind.title : `${kind.title} #${Math.floor(k / KINDS.length) + 1}`,
      global: rng.float() < 0.5,
      owner: rng.float() < 0.5 ? 'demo' : 'secops_admin',
      createdAgo,
      modifiedAgo: rng.int(createdAgo),
      criteria: kind.criteria,
      members,
      qids,
    });
  }
  return lists;
}
