/**
 * What changed between two pulls: a sorted merge of two sealed files by host
 * id (both list hosts in ascending id order), then, within a host, by
 * detection key (QID, port, protocol, SSL). Only one host of each file is in
 * memory at a time, so two multi-GB files compare in flat memory.
 *
 * Changes, from the older pull (a) to the newer (b):
 * - `new`: open in b, and absent from a (or on a host a did not have);
 * - `fixed`: open in a, Fixed in b;
 * - `reopened`: open in b after being Fixed in a, or Re-Opened in b with a
 *   later re-open date than in a (or after being open in a: fixed and
 *   re-opened between the pulls);
 * - `absent`: open in a, missing from b although b has its host (fixed and
 *   left out by b's filters, or filtered differently);
 * - `still-open`: open in both; `still-fixed`: Fixed in both or only seen fixed.
 * Hosts in only one pull are counted as appearing or disappearing; the
 * detections of a disappearing host are not counted as fixed.
 */
import { HostCursor, type Detection, type Host } from './host-reader.js';

const CHANGES = ['new', 'fixed', 'reopened', 'absent', 'still-open', 'still-fixed'] as const;
type Change = (typeof CHANGES)[number];
type BySeverity = Record<'1' | '2' | '3' | '4' | '5', number>;

export interface DiffSummary {
  hosts: { inBoth: number; appeared: number; disappeared: number; firstAppeared: number[]; firstDisappeared: number[] };
  detections: Record<Change, { total: number; bySeverity: BySeverity }> & {
    onDisappearedHosts: { total: number; bySeverity: BySeverity };
  };
}

export interface DetectionChange {
  change: Change;
  hostId: number;
  ip: string;
  detection: Detection;
  statusBefore: string | null;
}

const SAMPLE = 10;
const isOpen = (d: Detection) => d.status !== 'Fixed';
const zeroSeverity = (): BySeverity => ({ '1': 0, '2': 0, '3': 0, '4': 0, '5': 0 });

function keyOf(d: Detection): string {
  return `${String(d.qid).padStart(12, '0')}|${d.port.padStart(6, '0')}|${d.protocol}|${d.ssl}`;
}

function sortedByKey(detections: Detection[]): Array<[string, Detection]> {
  return detections.map((d) => [keyOf(d), d] as [string, Detection]).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

function classify(a: Detection | null, b: Detection | null): Change {
  if (a && b) {
    if (isOpen(a) && isOpen(b)) {
      const reopenedAgain = b.status === 'Re-Opened' && (a.status !== 'Re-Opened' || (b.lastReopened !== '' && b.lastReopened > a.lastReopened));
      return reopenedAgain ? 'reopened' : 'still-open';
    }
    if (isOpen(a)) return 'fixed';
    return isOpen(b) ? 'reopened' : 'still-fixed';
  }
  if (b) return isOpen(b) ? (b.status === 'Re-Opened' ? 'reopened' : 'new') : 'still-fixed';
  return isOpen(a!) ? 'absent' : 'still-fixed';
}

class DiffTally {
  private readonly summary: DiffSummary = {
    hosts: { inBoth: 0, appeared: 0, disappeared: 0, firstAppeared: [], firstDisappeared: [] },
    detections: {
      ...(Object.fromEntries(CHANGES.map((c) => [c, { total: 0, bySeverity: zeroSeverity() }])) as Record<Change, { total: number; bySeverity: BySeverity }>),
      onDisappearedHosts: { total: 0, bySeverity: zeroSeverity() },
    },
  };

  private count(bucket: { total: number; bySeverity: BySeverity }, d: Detection): void {
    bucket.total++;
    const key = String(d.severity) as keyof BySeverity;
    if (key in bucket.bySeverity) bucket.bySeverity[key]++;
  }

  /** Compares one host of each pull (either may be missing); hands each change that matters to `onChange`. */
  host(a: Host | null, b: Host | null, onChange: (change: DetectionChange) => void): void {
    const s = this.summary;
    if (a && !b) {
      s.hosts.disappeared++;
      if (s.hosts.firstDisappeared.length < SAMPLE) s.hosts.firstDisappeared.push(a.id);
      for (const d of a.detections) this.count(s.detections.onDisappearedHosts, d);
      return;
    }
    if (b && !a) {
      s.hosts.appeared++;
      if (s.hosts.firstAppeared.length < SAMPLE) s.hosts.firstAppeared.push(b.id);
    } else s.hosts.inBoth++;
    const before = a ? sortedByKey(a.detections) : [];
    const after = sortedByKey(b!.detections);
    let i = 0;
    let j = 0;
    while (i < before.length || j < after.length) {
      const ka = before[i]?.[0];
      const kb = after[j]?.[0];
      let da: Detection | null = null;
      let db: Detection | null = null;
      if (kb === undefined || (ka !== undefined && ka < kb)) da = before[i++]![1];
      else if (ka === undefined || kb < ka) db = after[j++]![1];
      else {
        da = before[i++]![1];
        db = after[j++]![1];
      }
      const change = classify(da, db);
      const d = (db ?? da)!;
      this.count(s.detections[change], d);
      if (change !== 'still-open' && change !== 'still-fixed') onChange({ change, hostId: b!.id, ip: b!.ip, detection: d, statusBefore: da?.status ?? null });
    }
  }

  result(): DiffSummary {
    return this.summary;
  }
}

/** Merges the two pulls host by host, handing every change to `onChange`. */
export async function diffHosts(a: AsyncGenerator<Host[], unknown>, b: AsyncGenerator<Host[], unknown>, onChange: (change: DetectionChange) => void = () => {}): Promise<DiffSummary> {
  const changes = diffChanges(a, b);
  for (;;) {
    const step = await changes.next();
    if (step.done) return step.value;
    step.value.forEach(onChange);
  }
}

/** The merge as a stream of changes (a batch per host that changed); returns the summary at the end. */
export async function* diffChanges(a: AsyncGenerator<Host[], unknown>, b: AsyncGenerator<Host[], unknown>): AsyncGenerator<DetectionChange[], DiffSummary> {
  const tally = new DiffTally();
  let batch: DetectionChange[] = [];
  const onChange = (change: DetectionChange) => batch.push(change);
  const left = new HostCursor(a as AsyncGenerator<Host[], never>);
  const right = new HostCursor(b as AsyncGenerator<Host[], never>);
  let ha = await left.next();
  let hb = await right.next();
  while (ha || hb) {
    if (ha && (!hb || ha.id < hb.id)) {
      tally.host(ha, null, onChange);
      ha = await left.next();
    } else if (hb && (!ha || hb.id < ha.id)) {
      tally.host(null, hb, onChange);
      hb = await right.next();
    } else {
      tally.host(ha, hb, onChange);
      ha = await left.next();
      hb = await right.next();
    }
    if (batch.length > 0) {
      yield batch;
      batch = [];
    }
  }
  return tally.result();
}

export const DIFF_CSV_HEADER = ['change', 'host_id', 'ip', 'qid', 'port', 'protocol', 'ssl', 'severity', 'type', 'status_before', 'status_after', 'first_found', 'last_fixed'];

function cell(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function diffCsvRow(c: DetectionChange): string {
  const d = c.detection;
  const after = c.change === 'absent' ? null : d.status;
  return `${[c.change, c.hostId, c.ip, d.qid, d.port, d.protocol, d.ssl, d.severity, d.type, c.statusBefore, after, d.firstFound, d.lastFixed].map(cell).join(',')}\n`;
}
