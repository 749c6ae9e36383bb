/**
 * The host list (`HOST_LIST_OUTPUT`) on every API version. With
 * `details=None` it is an ID_SET of `ID` and `ID_RANGE` items, the cheap way
 * to learn the host population; otherwise host records (ASSET_ID with
 * show_asset_id=1, IPV6 on dual-stack hosts, DNS_DATA from 3.0, TruRisk and
 * asset risk scores on request). Paged by truncation_limit/id_min.
 */
import { XML_GARBAGE, xmlHead, xmlTail, type RenderContext, SectionedProducer } from './body-producer.js';
import type { ChunkWriter } from './chunk-writer.js';
import { formatEpochSeconds } from './clock.js';
import type { Dataset } from './dataset.js';
import { cdata } from './escape.js';
import { hostMatches, parseHostFilter, type HostFilter } from './host-filter.js';
import { HostRecord } from './host-record.js';
import type { ApiVersion } from './hld-query.js';
import { Rng, hash32 } from './prng.js';
import { invalidValue } from './qualys-error.js';
import { echoRequestXml } from './render-echo.js';
import type { Params } from './request-params.js';
import { truncationText } from './truncation.js';

export const HOST_LIST_PARAMS: ReadonlySet<string> = new Set([
  'action', 'echo_request', 'details', 'os_pattern', 'truncation_limit', 'ips', 'ipv6', 'ag_ids', 'ag_titles', 'ids',
  'id_min', 'id_max', 'network_ids', 'compliance_enabled', 'no_vm_scan_since', 'no_compliance_scan_since',
  'vm_scan_since', 'compliance_scan_since', 'vm_processed_before', 'vm_processed_after', 'vm_scan_date_before',
  'vm_scan_date_after', 'vm_auth_scan_date_before', 'vm_auth_scan_date_after', 'use_tags', 'tag_set_by',
  'tag_include_selector', 'tag_exclude_selector', 'tag_set_include', 'tag_set_exclude', 'show_tags', 'show_asset_id',
  'host_metadata', 'host_metadata_fields', 'show_cloud_tags', 'cloud_tag_fields', 'os_hostname', 'show_ars', 'ars_min',
  'ars_max', 'show_ars_factors', 'show_trurisk', 'trurisk_min', 'trurisk_max', 'show_trurisk_factors',
]);
const FLAG_PARAMS = ['compliance_enabled', 'use_tags', 'show_tags', 'show_cloud_tags', 'os_hostname', 'show_ars_factors', 'show_trurisk_factors'];
const DETAILS = ['Basic', 'Basic/AGs', 'All', 'All/AGs', 'None'];
const BATCH = 4096;


export class HostListProducer extends SectionedProducer {
  private readonly filter: HostFilter;
  private readonly idsOnly: boolean;
  private readonly limit: number;
  private readonly host = new HostRecord();
  private readonly rng = new Rng(0);
  private index: number;
  private emitted = 0;
  private opened = false;
  /** Pending ID run, written when it ends. */
  private runStart = -1;
  private runEnd = -1;
  private nextIdMin: number | null = null;
  private readonly options: RecordOptions;
  private readonly trurisk: readonly [number, number];
  private readonly ars: readonly [number, number];

  constructor(
    private readonly dataset: Dataset,
    private readonly params: Params,
    private readonly ctx: RenderContext,
    private readonly version: ApiVersion = '2.0',
  ) {
    super();
    params.requireListAction(HOST_LIST_PARAMS);
    const details = params.get('details') || 'Basic';
    if (!DETAILS.includes(details)) throw invalidValue('details', details, `expected one of ${DETAILS.join(', ')}`);
    this.idsOnly = details === 'None';
    this.limit = params.int('truncation_limit', 0, 1_000_000) ?? 1000;
    params.flag('echo_request', false);
    for (const name of FLAG_PARAMS) params.flag(name, false);
    this.options = {
      assetId: params.flag('show_asset_id', false),
      dnsData: version !== '2.0',
      trurisk: params.flag('show_trurisk', false),
      ars: params.flag('show_ars', false),
    };
    this.trurisk = scoreRange(params, 'trurisk_min', 'trurisk_max', 1000);
    this.ars = scoreRange(params, 'ars_min', 'ars_max', 100);
    this.filter = parseHostFilter(params, dataset, dataset.clock.nowMs());
    this.index = this.filter.startIndex;
  }

  protected head(w: ChunkWriter): void {
    w.ascii(xmlHead('HOST_LIST_OUTPUT', `${this.ctx.baseUrl}/api/${this.version}/fo/asset/host/host_list_output.dtd`, this.ctx.trial));
    if (this.params.flag('echo_request', false)) w.utf8(echoRequestXml(this.ctx, this.params));
    w.ascii(`  <RESPONSE>\n    <DATETIME>${this.ctx.datetime}</DATETIME>\n`);
  }

  protected body(w: ChunkWriter): boolean {
    const end = this.filter.endIndex;
    for (let n = 0; n < BATCH; n++) {
      if (this.index >= end) {
        return false;
      }
      const index = this.index++;
      if (!hostMatches(this.filter, this.dataset, index, this.rng, this.host)) continue;
      const scores = riskScores(this.dataset.seed, index);
      if (!within(this.trurisk, scores.trurisk) || !within(this.ars, scores.ars)) continue;
      if (this.limit > 0 && this.emitted === this.limit) {
        this.nextIdMin = this.host.id;
        return false;
      }
      if (!this.opened) {
        w.ascii(this.idsOnly ? '    <ID_SET>\n' : '    <HOST_LIST>\n');
        this.opened = true;
      }
      if (this.idsOnly) this.addId(w, this.options.assetId ? this.host.assetId : this.host.id);
      else w.utf8(hostRecord(this.host, this.dataset.anchorSec, this.options, scores));
      this.emitted++;
    }
    return true;
  }

  private addId(w: ChunkWriter, id: number): void {
    if (this.runStart >= 0 && id === this.runEnd + 1) {
      this.runEnd = id;
      return;
    }
    this.flushRun(w);
    this.runStart = this.runEnd = id;
  }

  private flushRun(w: ChunkWriter): void {
    if (this.runStart < 0) return;
    w.ascii(this.runStart === this.runEnd ? `      <ID>${this.runStart}</ID>\n` : `      <ID_RANGE>${this.runStart}-${this.runEnd}</ID_RANGE>\n`);
    this.runStart = -1;
  }

  protected tail(w: ChunkWriter): void {
    this.flushRun(w);
    if (this.opened) w.ascii(this.idsOnly ? '    </ID_SET>\n' : '    </HOST_LIST>\n');
    if (this.ctx.malformed) w.ascii(XML_GARBAGE);
    if (this.nextIdMin !== null) {
      const url = `${this.ctx.baseUrl}${this.ctx.path}?${this.params.queryWith('id_min', String(this.nextIdMin))}`;
      w.ascii(`    <WARNING>\n      <CODE>1980</CODE>\n      <TEXT>${truncationText(this.limit)}</TEXT>\n      <URL><![CDATA[${url}]]></URL>\n    </WARNING>\n`);
    }
    w.ascii(`  </RESPONSE>\n${xmlTail('HOST_LIST_OUTPUT', this.ctx.trial)}`);
  }
}

interface RecordOptions {
  assetId: boolean;
  dnsData: boolean;
  trurisk: boolean;
  ars: boolean;
}

interface RiskScores {
  trurisk: number;
  criticality: number;
  ars: number;
}

/** Synthetic, stable per host: TruRisk 0–1000, asset criticality 1–5, asset risk score 0–100. */
function riskScores(seed: number, index: number): RiskScores {
  const h = hash32(seed, index, 0x7a5);
  return { trurisk: h % 1001, criticality: 1 + ((h >>> 10) % 5), ars: (h >>> 14) % 101 };
}

function scoreRange(params: Params, minName: string, maxName: string, top: number): readonly [number, number] {
  const min = params.int(minName, 0, top) ?? 0;
  const max = params.int(maxName, 0, top) ?? top;
  if (min > max) throw invalidValue(minName, String(min), `greater than ${maxName} ${max}`);
  return [min, max];
}

function within([min, max]: readonly [number, number], value: number): boolean {
  return value >= min && value <= max;
}

function hostRecord(h: HostRecord, anchor: number, options: RecordOptions, scores: RiskScores): string {
  let s = `      <HOST>\n        <ID>${h.id}</ID>\n`;
  if (options.assetId) s += `        <ASSET_ID>${h.assetId}</ASSET_ID>\n`;
  s += `        <IP>${h.ip}</IP>\n`;
  if (h.ipv6) s += `        <IPV6>${h.ipv6}</IPV6>\n`;
  if (options.ars) s += `        <ASSET_RISK_SCORE>${scores.ars}</ASSET_RISK_SCORE>\n`;
  if (options.trurisk) s += `        <TRURISK_SCORE>${scores.trurisk}</TRURISK_SCORE>\n        <ASSET_CRITICALITY_SCORE>${scores.criticality}</ASSET_CRITICALITY_SCORE>\n`;
  s += `        <TRACKING_METHOD>${h.trackingMethod}</TRACKING_METHOD>\n`;
  if (h.hostname) {
    s += `        <DNS>${cdata(h.fqdn)}</DNS>\n`;
    if (options.dnsData) {
      s += `        <DNS_DATA>\n          <HOSTNAME>${cdata(h.hostname)}</HOSTNAME>\n          <DOMAIN>${cdata(h.domain)}</DOMAIN>\n          <FQDN>${cdata(h.fqdn)}</FQDN>\n        </DNS_DATA>\n`;
    }
  }
  if (h.netbios) s += `        <NETBIOS>${cdata(h.netbios)}</NETBIOS>\n`;
  s += `        <OS>${cdata(h.os.name)}</OS>\n`;
  if (h.qgHostId) s += `        <QG_HOSTID>${cdata(h.qgHostId)}</QG_HOSTID>\n`;
  const scanned = formatEpochSeconds(anchor - h.lastVmScannedAgo);
  return (
    s +
    `        <LAST_VULN_SCAN_DATETIME>${scanned}</LAST_VULN_SCAN_DATETIME>\n        <LAST_VM_SCANNED_DATE>${scanned}</LAST_VM_SCANNED_DATE>\n` +
    (h.agent ? '' : `        <LAST_VM_SCANNED_DURATION>${h.vmScanDuration}</LAST_VM_SCANNED_DURATION>\n`) +
    '      </HOST>\n'
  );
}
