/**
 * Host List Detection as XML, streamed host by host: the DOCTYPE naming the
 * API host, CDATA text with entity escapes, and the 1980 truncation WARNING
 * whose URL repeats the request with the next `id_min`.
 *
 * Element presence varies as in real answers: detections without PORT and
 * PROTOCOL, information-gathered ones without SEVERITY or STATUS (shapes),
 * agent-scanned hosts without scan durations, IPV6 on dual-stack hosts, and
 * the older element order (TIMES_FOUND after IS_DISABLED) on API 2.0.
 */
import { XML_GARBAGE, xmlHead, xmlTail, SectionedProducer, type RenderContext } from './body-producer.js';
import type { ChunkWriter } from './chunk-writer.js';
import { formatEpochSeconds } from './clock.js';
import type { Dataset } from './dataset.js';
import { NO_PORT, PORTS, type DetectionSet } from './detections.js';
import { cdata } from './escape.js';
import { HldMatcher } from './hld-matcher.js';
import type { HldQuery } from './hld-query.js';
import type { HostRecord } from './host-record.js';
import { qdsLevelOf, qdsOf, type QidCatalog } from './qid-catalog.js';
import { echoRequestXml } from './render-echo.js';
import { truncationText } from './truncation.js';
import { DETECTION_STATUSES, DETECTION_TYPES, KERNEL_NONE, STATUS_REOPENED } from './vocabulary.js';

const D = '\n            ';
const ROOT = 'HOST_LIST_VM_DETECTION_OUTPUT';

interface QidParts {
  /** `<QID>`, `<TYPE>` and `<SEVERITY>`. */
  full: string[];
  /** `<QID>` and `<TYPE>` only. */
  withoutSeverity: string[];
}
const qidPartsCache = new WeakMap<QidCatalog, QidParts>();

/** `<QID>`, `<TYPE>` and `<SEVERITY>` never change for a QID: render them once. */
function qidParts(catalog: QidCatalog): QidParts {
  let parts = qidPartsCache.get(catalog);
  if (!parts) {
    const head = (i: number) => `${D}<QID>${catalog.qid[i]}</QID>${D}<TYPE>${DETECTION_TYPES[catalog.type[i]!]}</TYPE>`;
    parts = {
      full: Array.from(catalog.qid, (_, i) => `${head(i)}${D}<SEVERITY>${catalog.severity[i]}</SEVERITY>`),
      withoutSeverity: Array.from(catalog.qid, (_, i) => head(i)),
    };
    qidPartsCache.set(catalog, parts);
  }
  return parts;
}

const PORT_PARTS = PORTS.map(([port, proto]) => `${D}<PORT>${port}</PORT>${D}<PROTOCOL>${proto}</PROTOCOL>${D}<SSL>${port === 443 || port === 8443 ? 1 : 0}</SSL>`);
const NO_PORT_PART = `${D}<SSL>0</SSL>`;
const STATUS_PARTS = DETECTION_STATUSES.map((s) => `${D}<STATUS>${s}</STATUS>`);
const FLAGS = `${D}<IS_IGNORED>0</IS_IGNORED>${D}<IS_DISABLED>0</IS_DISABLED>`;
const RTI = ['Exploit_Public', 'Remote_Code_Execution', 'Denial_of_Service', 'Privilege_Escalation', 'Easy_Exploit'];

export class HldXmlProducer extends SectionedProducer {
  private readonly matcher: HldMatcher;
  private emitted = 0;
  private listOpen = false;
  private nextIdMin: number | null = null;
  private firstHostId: number | null = null;
  private garbageWritten = false;
  private readonly qids: QidParts;

  constructor(
    private readonly dataset: Dataset,
    private readonly query: HldQuery,
    private readonly ctx: RenderContext,
  ) {
    super();
    this.matcher = new HldMatcher(dataset, query);
    this.qids = qidParts(dataset.catalog);
  }

  protected head(w: ChunkWriter): void {
    const { ctx, query } = this;
    const hostile = ctx.hostile ?? null;
    w.ascii(xmlHead(ROOT, `${ctx.baseUrl}/api/${query.version}/fo/asset/host/vm/detection/host_list_vm_detection_output.dtd`, ctx.trial, hostile));
    if (query.echoRequest) w.utf8(echoRequestXml(ctx, query.params));
    w.ascii(`  <RESPONSE>\n    <DATETIME>${ctx.datetime}${hostile === 'billion-laughs' ? '&lol9;' : ''}</DATETIME>\n`);
  }

  /** Renders hosts until a chunk is full, so the server can apply backpressure between chunks. */
  protected body(w: ChunkWriter): boolean {
    const limit = this.query.truncationLimit;
    const startPending = w.pending;
    while (w.pending === startPending) {
      if (!this.matcher.next()) {
        return false;
      }
      if (limit > 0 && this.emitted === limit) {
        this.nextIdMin = this.matcher.host.id;
        return false;
      }
      if (!this.listOpen) {
        w.ascii('    <HOST_LIST>');
        this.listOpen = true;
      }
      this.firstHostId ??= this.matcher.host.id;
      this.host(w);
      this.emitted++;
      if (this.ctx.malformed && !this.garbageWritten) {
        w.ascii(XML_GARBAGE);
        this.garbageWritten = true;
      }
    }
    return true;
  }

  protected tail(w: ChunkWriter): void {
    if (this.ctx.malformed && !this.garbageWritten) w.ascii(XML_GARBAGE);
    if (this.listOpen) w.ascii('\n    </HOST_LIST>\n');
    if (this.nextIdMin !== null) {
      // A stuck cursor names the page's own first host again: following it would never end.
      const cursor = this.ctx.hostile === 'stuck-cursor' ? this.firstHostId! : this.nextIdMin;
      const url = `${this.ctx.baseUrl}${this.ctx.path}?${this.query.params.queryWith('id_min', String(cursor))}`;
      w.ascii(
        `    <WARNING>\n      <CODE>1980</CODE>\n      <TEXT>${truncationText(this.query.truncationLimit)}</TEXT>\n` +
          `      <URL><![CDATA[${url}]]></URL>\n    </WARNING>\n`,
      );
    }
    w.ascii(`  </RESPONSE>\n${xmlTail(ROOT, this.ctx.trial)}`);
  }

  private host(w: ChunkWriter): void {
    const { query, dataset } = this;
    const h = this.matcher.host;
    const anchor = dataset.anchorSec;
    w.utf8(hostHeader(h, anchor, query.showAssetId));
    const d = this.matcher.detections;
    const xml = dataset.results.xml;
    const scanned = formatEpochSeconds(anchor - h.lastVmScannedAgo);
    const updated = formatEpochSeconds(anchor - h.lastScanAgo);
    for (let m = 0; m < this.matcher.matchedCount; m++) {
      const k = this.matcher.matched[m]!;
      const qi = d.qidIndex[k]!;
      const port = d.port[k]!;
      w.ascii(
        `\n          <DETECTION>${D}<UNIQUE_VULN_ID>${h.id * 64 + k}</UNIQUE_VULN_ID>` +
          (d.noSeverity[k] ? this.qids.withoutSeverity[qi] : this.qids.full[qi]) +
          (port === NO_PORT ? NO_PORT_PART : PORT_PARTS[port]),
      );
      if (query.showResults) w.bytes(xml[d.variant[k]!]!);
      w.ascii(this.detectionTail(d, k, qi, h, scanned, updated));
    }
    w.ascii('\n        </DETECTION_LIST>\n      </HOST>');
  }

  /** Everything after RESULTS, in the order of the request's API version. */
  private detectionTail(d: DetectionSet, k: number, qi: number, h: HostRecord, scanned: string, updated: string): string {
    const { query, dataset } = this;
    const anchor = dataset.anchorSec;
    const catalog = dataset.catalog;
    const status = d.status[k]!;
    const timesFound = `${D}<TIMES_FOUND>${d.timesFound[k]}</TIMES_FOUND>`;
    let tail =
      (d.noStatus[k] ? '' : STATUS_PARTS[status]) +
      `${D}<FIRST_FOUND_DATETIME>${formatEpochSeconds(anchor - d.firstFoundAgo[k]!)}</FIRST_FOUND_DATETIME>` +
      `${D}<LAST_FOUND_DATETIME>${d.lastFoundAgo[k] === h.lastVmScannedAgo ? scanned : formatEpochSeconds(anchor - d.lastFoundAgo[k]!)}</LAST_FOUND_DATETIME>`;
    if (query.showQds) tail += `${D}<QDS severity="${qdsLevelOf(catalog, qi)}">${qdsOf(catalog, qi)}</QDS>`;
    if (query.showQdsFactors) tail += qdsFactors(catalog, qi);
    if (!query.legacyLayout) tail += timesFound;
    tail += `${D}<LAST_TEST_DATETIME>${scanned}</LAST_TEST_DATETIME>${D}<LAST_UPDATE_DATETIME>${updated}</LAST_UPDATE_DATETIME>`;
    if (d.lastFixedAgo[k]! >= 0) tail += `${D}<LAST_FIXED_DATETIME>${formatEpochSeconds(anchor - d.lastFixedAgo[k]!)}</LAST_FIXED_DATETIME>`;
    if (query.showReopenedInfo && status === STATUS_REOPENED) {
      const reopened = formatEpochSeconds(anchor - d.reopenedAgo[k]!);
      tail +=
        `${D}<FIRST_REOPENED_DATETIME>${reopened}</FIRST_REOPENED_DATETIME>${D}<LAST_REOPENED_DATETIME>${reopened}</LAST_REOPENED_DATETIME>` +
        `${D}<TIMES_REOPENED>${d.timesReopened[k]}</TIMES_REOPENED>`;
    }
    tail += FLAGS;
    if (query.legacyLayout) tail += timesFound;
    if (query.showArfData && d.kernel[k] !== KERNEL_NONE) tail += `${D}<AFFECT_RUNNING_KERNEL>${d.kernel[k]}</AFFECT_RUNNING_KERNEL>`;
    return tail + `${D}<LAST_PROCESSED_DATETIME>${updated}</LAST_PROCESSED_DATETIME>\n          </DETECTION>`;
  }
}

/** Synthetic QDS contributing factors, derived from the QID (show_qds_factors=1). */
function qdsFactors(catalog: QidCatalog, qi: number): string {
  const qid = catalog.qid[qi]!;
  const sev = catalog.severity[qi]!;
  const F = `${D}  `;
  let s = `${D}<QDS_FACTORS>${F}<QDS_FACTOR name="CVSS"><![CDATA[${(sev * 2 - (qid % 7) / 10).toFixed(1)}]]></QDS_FACTOR>`;
  s += `${F}<QDS_FACTOR name="EPSS"><![CDATA[${((qid % 997) / 1000).toFixed(5)}]]></QDS_FACTOR>`;
  if (sev >= 4) s += `${F}<QDS_FACTOR name="RTI"><![CDATA[${RTI.slice(0, 1 + (qid % RTI.length)).join(',')}]]></QDS_FACTOR>`;
  return s + `${D}</QDS_FACTORS>`;
}

const H = '\n        ';

function hostHeader(h: HostRecord, anchor: number, showAssetId: boolean): string {
  let s = `\n      <HOST>${H}<ID>${h.id}</ID>`;
  if (showAssetId) s += `${H}<ASSET_ID>${h.assetId}</ASSET_ID>`;
  s += `${H}<IP>${h.ip}</IP>`;
  if (h.ipv6) s += `${H}<IPV6>${h.ipv6}</IPV6>`;
  s += `${H}<TRACKING_METHOD>${h.trackingMethod}</TRACKING_METHOD>${H}<OS>${cdata(h.os.name)}</OS>`;
  if (h.os.cpe) s += `${H}<OS_CPE>${cdata(h.os.cpe)}</OS_CPE>`;
  if (h.hostname) {
    s +=
      `${H}<DNS>${cdata(h.fqdn)}</DNS>${H}<DNS_DATA>${H}  <HOSTNAME>${cdata(h.hostname)}</HOSTNAME>` +
      `${H}  <DOMAIN>${cdata(h.domain)}</DOMAIN>${H}  <FQDN>${cdata(h.fqdn)}</FQDN>${H}</DNS_DATA>`;
  }
  if (h.ec2InstanceId) {
    s +=
      `${H}<CLOUD_PROVIDER>AWS</CLOUD_PROVIDER>${H}<CLOUD_SERVICE>EC2</CLOUD_SERVICE>` +
      `${H}<CLOUD_RESOURCE_ID>${h.ec2InstanceId}</CLOUD_RESOURCE_ID>${H}<EC2_INSTANCE_ID>${h.ec2InstanceId}</EC2_INSTANCE_ID>`;
  }
  if (h.netbios) s += `${H}<NETBIOS>${cdata(h.netbios)}</NETBIOS>`;
  if (h.qgHostId) s += `${H}<QG_HOSTID>${cdata(h.qgHostId)}</QG_HOSTID>`;
  s +=
    `${H}<LAST_SCAN_DATETIME>${formatEpochSeconds(anchor - h.lastScanAgo)}</LAST_SCAN_DATETIME>` +
    `${H}<LAST_VM_SCANNED_DATE>${formatEpochSeconds(anchor - h.lastVmScannedAgo)}</LAST_VM_SCANNED_DATE>`;
  // Agent-scanned hosts report their scans without durations.
  if (!h.agent) s += `${H}<LAST_VM_SCANNED_DURATION>${h.vmScanDuration}</LAST_VM_SCANNED_DURATION>`;
  if (h.lastAuthScannedAgo >= 0) {
    s += `${H}<LAST_VM_AUTH_SCANNED_DATE>${formatEpochSeconds(anchor - h.lastAuthScannedAgo)}</LAST_VM_AUTH_SCANNED_DATE>`;
    if (!h.agent) s += `${H}<LAST_VM_AUTH_SCANNED_DURATION>${h.authScanDuration}</LAST_VM_AUTH_SCANNED_DURATION>`;
  }
  if (h.lastPcScannedAgo >= 0) s += `${H}<LAST_PC_SCANNED_DATE>${formatEpochSeconds(anchor - h.lastPcScannedAgo)}</LAST_PC_SCANNED_DATE>`;
  return s + `${H}<DETECTION_LIST>`;
}
