/**
 * The knowledge base list (`KNOWLEDGE_BASE_VULN_LIST_OUTPUT`) for the QIDs the
 * simulated subscription detects: the natural companion of Host List
 * Detection for custom fetchers. Paged like the other lists (truncation_limit,
 * default 1000, and a 1980 WARNING whose URL carries the next id_min).
 * Titles, categories and texts are synthetic; type and severity are the
 * catalog's, so they agree with the detections.
 */
import { XML_GARBAGE, SectionedProducer, xmlHead, xmlTail, type RenderContext } from './body-producer.js';
import type { ChunkWriter } from './chunk-writer.js';
import { formatEpochSeconds } from './clock.js';
import type { Dataset } from './dataset.js';
import { cdata } from './escape.js';
import { inRanges, parseIntRanges, type Ranges } from './int-ranges.js';
import { hash32 } from './prng.js';
import { CATALOG_SIZE } from './qid-catalog.js';
import { invalidValue } from './qualys-error.js';
import { echoRequestXml } from './render-echo.js';
import type { Params } from './request-params.js';
import { truncationText } from './truncation.js';
import { TYPE_CONFIRMED, TYPE_POTENTIAL } from './vocabulary.js';

const ROOT = 'KNOWLEDGE_BASE_VULN_LIST_OUTPUT';

/** Qualys's allowed list for this call, plus truncation_limit (the simulator pages it like the others). */
export const KNOWLEDGE_BASE_PARAMS: ReadonlySet<string> = new Set([
  'action', 'echo_request', 'ids', 'id_min', 'id_max', 'details', 'is_patchable', 'last_modified_after',
  'last_modified_before', 'last_modified_by_user_after', 'last_modified_by_user_before', 'last_modified_by_service_after',
  'last_modified_by_service_before', 'code_modified_after', 'code_modified_before', 'published_after', 'published_before',
  'discovery_method', 'discovery_auth_types', 'show_qid_change_log', 'show_pci_reasons', 'show_disabled_flag',
  'show_supported_modules_info', 'truncation_limit',
]);
const DETAILS = ['Basic', 'All', 'None'];
const DAY = 86_400;
const CATEGORIES = ['Windows', 'Local', 'Web server', 'General remote services', 'Security Policy', 'Information gathering', 'CGI', 'SUSE', 'RedHat', 'Ubuntu'];
const SUBJECTS = ['OpenSSL', 'Microsoft Windows', 'Apache HTTP Server', 'OpenSSH', 'Linux Kernel', 'glibc', 'Oracle Java', 'nginx', 'sudo', 'curl'];
const FLAWS = ['Remote Code Execution', 'Privilege Escalation', 'Denial of Service', 'Information Disclosure', 'Security Update Missing', 'Weak Cipher Suites'];
const VULN_TYPES = ['Vulnerability', 'Potential Vulnerability', 'Information Gathered'];

export class KnowledgeBaseProducer extends SectionedProducer {
  private readonly ids: Ranges | null;
  private readonly idMin: number;
  private readonly idMax: number;
  private readonly limit: number;
  private readonly details: string;
  private readonly patchable: boolean | null;
  private readonly publishedAfter: number | null;
  private readonly publishedBefore: number | null;
  private readonly modifiedAfter: number | null;
  private readonly modifiedBefore: number | null;
  private index = 0;
  private emitted = 0;
  private opened = false;
  private nextIdMin: number | null = null;

  constructor(
    private readonly dataset: Dataset,
    private readonly params: Params,
    private readonly ctx: RenderContext,
  ) {
    super();
    params.requireListAction(KNOWLEDGE_BASE_PARAMS);
    const idsValue = params.get('ids');
    this.ids = idsValue ? parseIntRanges('ids', idsValue) : null;
    this.idMin = params.int('id_min', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    this.idMax = params.int('id_max', 0, Number.MAX_SAFE_INTEGER) ?? Number.MAX_SAFE_INTEGER;
    this.limit = params.int('truncation_limit', 0, 1_000_000) ?? 1000;
    this.details = params.get('details') || 'Basic';
    if (!DETAILS.includes(this.details)) throw invalidValue('details', this.details, `expected one of ${DETAILS.join(', ')}`);
    const patchable = params.get('is_patchable');
    this.patchable = patchable === undefined || patchable === '' ? null : params.flag('is_patchable', false);
    this.publishedAfter = params.date('published_after') ?? null;
    this.publishedBefore = params.date('published_before') ?? null;
    this.modifiedAfter = params.date('last_modified_after') ?? null;
    this.modifiedBefore = params.date('last_modified_before') ?? null;
    for (const name of ['last_modified_by_user_after', 'last_modified_by_user_before', 'last_modified_by_service_after', 'last_modified_by_service_before', 'code_modified_after', 'code_modified_before']) {
      params.date(name);
    }
    for (const name of ['echo_request', 'show_qid_change_log', 'show_pci_reasons', 'show_disabled_flag', 'show_supported_modules_info']) params.flag(name, false);
  }

  protected head(w: ChunkWriter): void {
    w.ascii(xmlHead(ROOT, `${this.ctx.baseUrl}/api/2.0/fo/knowledge_base/vuln/knowledge_base_vuln_list_output.dtd`, this.ctx.trial));
    if (this.params.flag('echo_request', false)) w.utf8(echoRequestXml(this.ctx, this.params));
    w.ascii(`  <RESPONSE>\n    <DATETIME>${this.ctx.datetime}</DATETIME>\n`);
  }

  protected body(w: ChunkWriter): boolean {
    const { catalog } = this.dataset;
    for (let n = 0; n < 256; n++) {
      if (this.index >= CATALOG_SIZE) return false;
      const i = this.index++;
      const qid = catalog.qid[i]!;
      if (qid < this.idMin || qid > this.idMax || (this.ids && !inRanges(this.ids, qid))) continue;
      const vuln = this.vuln(i);
      if (!this.wanted(vuln)) continue;
      if (this.limit > 0 && this.emitted === this.limit) {
        this.nextIdMin = qid;
        return false;
      }
      if (!this.opened) {
        w.ascii('    <VULN_LIST>\n');
        this.opened = true;
      }
      w.utf8(this.render(vuln));
      this.emitted++;
      if (this.ctx.malformed && this.emitted === 1) w.ascii(XML_GARBAGE);
    }
    return true;
  }

  protected tail(w: ChunkWriter): void {
    if (this.opened) w.ascii('    </VULN_LIST>\n');
    if (this.nextIdMin !== null) {
      const url = `${this.ctx.baseUrl}${this.ctx.path}?${this.params.queryWith('id_min', String(this.nextIdMin))}`;
      w.ascii(`    <WARNING>\n      <CODE>1980</CODE>\n      <TEXT>${truncationText(this.limit)}</TEXT>\n      <URL><![CDATA[${url}]]></URL>\n    </WARNING>\n`);
    }
    w.ascii(`  </RESPONSE>\n${xmlTail(ROOT, this.ctx.trial)}`);
  }

  private vuln(i: number): KbVuln {
    const { catalog, seed, anchorSec } = this.dataset;
    const qid = catalog.qid[i]!;
    const h = hash32(seed, qid, 0x4b);
    const published = anchorSec - (30 + (h % 3000)) * DAY;
    const type = catalog.type[i]!;
    return {
      qid,
      type: VULN_TYPES[type]!,
      severity: catalog.severity[i]!,
      title: `${SUBJECTS[h % SUBJECTS.length]} ${type === TYPE_CONFIRMED || type === TYPE_POTENTIAL ? FLAWS[(h >>> 8) % FLAWS.length] : 'Detected Version'} (QID ${qid})`,
      category: CATEGORIES[(h >>> 4) % CATEGORIES.length]!,
      published,
      modified: Math.min(anchorSec, published + ((h >>> 12) % 400) * DAY),
      patchable: type !== 2 && (h >>> 20) % 4 !== 0,
      pci: catalog.severity[i]! >= 4 && type !== 2,
      kernel: catalog.kernel[i] === 1,
    };
  }

  private wanted(v: KbVuln): boolean {
    if (this.patchable !== null && v.patchable !== this.patchable) return false;
    if (this.publishedAfter !== null && v.published < this.publishedAfter) return false;
    if (this.publishedBefore !== null && v.published >= this.publishedBefore) return false;
    if (this.modifiedAfter !== null && v.modified < this.modifiedAfter) return false;
    if (this.modifiedBefore !== null && v.modified >= this.modifiedBefore) return false;
    return true;
  }

  private render(v: KbVuln): string {
    const I = '\n        ';
    if (this.details === 'None') return `      <VULN>${I}<QID>${v.qid}</QID>\n      </VULN>\n`;
    let s =
      `      <VULN>${I}<QID>${v.qid}</QID>${I}<VULN_TYPE>${v.type}</VULN_TYPE>${I}<SEVERITY_LEVEL>${v.severity}</SEVERITY_LEVEL>` +
      `${I}<TITLE>${cdata(v.title)}</TITLE>${I}<CATEGORY>${v.category}</CATEGORY>` +
      `${I}<LAST_SERVICE_MODIFICATION_DATETIME>${formatEpochSeconds(v.modified)}</LAST_SERVICE_MODIFICATION_DATETIME>` +
      `${I}<PUBLISHED_DATETIME>${formatEpochSeconds(v.published)}</PUBLISHED_DATETIME>${I}<PATCHABLE>${v.patchable ? 1 : 0}</PATCHABLE>`;
    if (this.details === 'All') {
      s +=
        `${I}<DIAGNOSIS>${cdata(`${v.title}: the installed version is affected${v.kernel ? ' (a Linux kernel package)' : ''}.`)}</DIAGNOSIS>` +
        `${I}<CONSEQUENCE>${cdata(v.severity >= 4 ? 'Successful exploitation can compromise the host.' : 'An attacker may learn details about the host.')}</CONSEQUENCE>` +
        `${I}<SOLUTION>${cdata(v.patchable ? 'Apply the vendor\'s update & restart the affected service.' : 'No vendor fix is available; restrict access.')}</SOLUTION>`;
    }
    return s + `${I}<PCI_FLAG>${v.pci ? 1 : 0}</PCI_FLAG>${I}<DISCOVERY>${I}  <REMOTE>${v.kernel ? 0 : 1}</REMOTE>${I}</DISCOVERY>\n      </VULN>\n`;
  }
}

interface KbVuln {
  qid: number;
  type: string;
  severity: number;
  title: string;
  category: string;
  published: number;
  modified: number;
  patchable: boolean;
  pci: boolean;
  kernel: boolean;
}
