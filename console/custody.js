/**
 * The manifest as an auditor reads it: the chain of custody (who or what
 * started the run, when it was due and when it collected, every failed
 * attempt with its cause, every wait with its length, pages asked for again
 * with fewer hosts, the workers), the
 * Qualys call, the host ID ranges, and every raw page with its hash.
 */
import { downloadButton } from './download.js';
import { facts, formatBytes, formatTime, h, section, sha, table } from './dom.js';

const WAIT_REASON = { rate_limit: 'rate limit', concurrency_limit: 'concurrency limit' };

function where(x) {
  return [x.step, x.rangeNo !== null && x.rangeNo !== undefined ? `range ${x.rangeNo}` : null, x.pageNo !== null && x.pageNo !== undefined ? `page ${x.pageNo}` : null].filter(Boolean).join(', ') || '—';
}

function startedBy(m) {
  const s = m.custody?.startedBy;
  if (!s) return m.run ? `${m.run.trigger}${m.run.triggeredBy ? ` by ${m.run.triggeredBy}` : ''}` : null;
  const who = s.triggeredBy ? ` by ${s.triggeredBy}` : '';
  return `${s.trigger}${who}${s.scheduleId ? ` (schedule ${s.scheduleId})` : ''}`;
}

function backfillText(m) {
  if (!m.run || m.run.backfill === undefined) return null;
  const due = m.custody?.startedBy?.scheduledFor;
  if (!m.run.backfill) return due ? `no: due ${formatTime(due)}, ran on time` : 'no';
  return `yes: due ${formatTime(due)}, collected ${formatTime(m.run.collectedAt)}; it counts for the period it was collected in`;
}

function retriesTable(retries) {
  return table(
    ['When', 'Where', 'Attempt', 'Cause', 'Then', 'Worker'],
    retries.map((r) =>
      h('tr', {}, h('td', {}, formatTime(r.at)), h('td', {}, where(r)), h('td', { class: 'num' }, String(r.attempt)), h('td', {}, h('code', {}, r.errorType), `: ${r.message}`), h('td', {}, r.willRetry ? 'tried again' : 'gave up'), h('td', {}, r.worker ?? '—')),
    ),
    { class: 'compact' },
    'Failed attempts',
  );
}

function waitsTable(waits) {
  return table(
    ['When', 'Qualys limit', 'Qualys code', 'Length', 'Where', 'Worker'],
    waits.map((w) =>
      h('tr', {}, h('td', {}, formatTime(w.at)), h('td', {}, WAIT_REASON[w.reason] ?? w.reason), h('td', { class: 'num' }, w.qualysCode === undefined ? '—' : String(w.qualysCode)), h('td', { class: 'num' }, `${w.seconds} s`), h('td', {}, where(w)), h('td', {}, w.worker ?? '—')),
    ),
    { class: 'compact' },
    'Waits for Qualys limits',
  );
}

function pageSizeTable(changes) {
  return table(
    ['When', 'Where', 'Hosts asked for', 'Instead of', 'Worker'],
    changes.map((c) =>
      h('tr', {}, h('td', {}, formatTime(c.at)), h('td', {}, where(c)), h('td', { class: 'num' }, String(c.truncationLimit)), h('td', { class: 'num' }, String(c.pageSize)), h('td', {}, c.worker ?? '—')),
    ),
    { class: 'compact' },
    'Pages asked for again with fewer hosts',
  );
}

/** Who started the run and everything that happened on the way, as the manifest sealed it. */
export function custodySection(m) {
  const c = m.custody;
  const q = c?.qualys ?? m.qualys ?? {};
  const retries = c?.retries ?? [];
  const waits = c?.waits ?? m.waits ?? [];
  return section(
    'Chain of custody',
    facts([
      ['Started', startedBy(m)],
      ['Due (scheduled for)', c?.startedBy?.scheduledFor ? formatTime(c.startedBy.scheduledFor) : null],
      ['Backfill', backfillText(m)],
      ['Ran', m.run ? `${formatTime(m.run.startedAt)} to ${formatTime(m.run.finishedAt)}` : null],
      ['Collected', m.run?.collectedAt ? `${formatTime(m.run.collectedAt)} (the last page; audit periods go by this time)` : null],
      ['Qualys', q.apiBaseUrl ? `${q.platform ? `${q.platform}, ` : ''}${q.apiBaseUrl}, API ${q.apiVersion}` : null],
      ['Workers', c ? (c.workers.length ? h('ul', { class: 'plain' }, c.workers.map((w) => h('li', {}, h('code', {}, w)))) : 'none recorded') : null],
      ['Workflow', m.run?.workflowId],
      ['Failed attempts', `${c?.retryCount ?? m.retries ?? 0}${c ? '' : ' (a version 1 manifest keeps only the count)'}`],
      ['Waits for Qualys limits', waits.length ? `${waits.length}, ${c?.waitedSeconds ?? waits.reduce((s, w) => s + w.seconds, 0)} s in all` : 'none'],
      ['Smaller pages', c?.pageSizeChanges?.length ? `${c.pageSizeChanges.length} page(s) asked for again with fewer hosts after failing at the fetcher's page size` : null],
    ]),
    retries.length ? [h('h3', {}, 'Failed attempts'), retriesTable(retries)] : null,
    waits.length ? [h('h3', {}, 'Waits for Qualys limits'), waitsTable(waits)] : null,
    c?.pageSizeChanges?.length ? [h('h3', {}, 'Pages asked for again with fewer hosts'), pageSizeTable(c.pageSizeChanges)] : null,
  );
}

function rangesTable(ranges, pages) {
  return table(
    ['Range', 'First host id', 'Last host id', 'Hosts listed', 'Pages'],
    ranges.map((r) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, String(r.rangeNo)),
        h('td', { class: 'num' }, r.idMin === null ? 'open' : String(r.idMin)),
        h('td', { class: 'num' }, r.idMax === null ? 'open' : String(r.idMax)),
        h('td', { class: 'num' }, r.listedHosts === null ? '—' : String(r.listedHosts)),
        h('td', { class: 'num' }, String(pages.filter((p) => p.rangeNo === r.rangeNo).length)),
      ),
    ),
    { class: 'compact' },
    'Host ID ranges',
  );
}

export function manifestSection(m, pages, evidence) {
  const q = m.qualys ?? {};
  const sealed = new Map((m.pages ?? []).map((p) => [p.pageNo, p]));
  const hostIds = (p) => (p && p.firstHostId !== undefined && p.firstHostId !== null ? `${p.firstHostId}–${p.lastHostId}` : '—');
  const reduced = (m.pages ?? []).some((p) => p.truncationLimit !== undefined);
  const truncated = (p) => (p?.truncated ? `yes, next id_min ${p.nextIdMin}` : p?.truncated === false ? 'no' : '—');
  return section(
    'Manifest',
    facts([
      ['Qualys platform', q.platform ? `${q.platform} (${q.apiBaseUrl})` : q.apiBaseUrl],
      ['API version', q.apiVersion],
      ['Call', q.endpoint ? h('code', {}, `${q.method} ${q.endpoint}`) : null],
      ['Parameters', q.params ? h('pre', { class: 'code' }, JSON.stringify(q.params, null, 2)) : null],
      ['Hosts looked up first', q.resolvedHostIds ? `${q.resolvedHostIds.count} host ids from ${q.addressLookups?.length ?? 0} host list call(s), sent as ids` : null],
      ['Filtered here', q.postFilter === 'kernel-related' ? 'only kernel-related detections kept from every page (running-kernel option 4)' : null],
      ['Manifest version', m.manifestVersion === undefined ? null : String(m.manifestVersion)],
      ['Manifest SHA-256', evidence.manifestSha256 ? sha(evidence.manifestSha256, true) : null],
    ]),
    m.ranges?.length ? [h('h3', {}, `Host ID ranges (${m.ranges.length}, pulled in parallel)`), rangesTable(m.ranges, m.pages ?? [])] : null,
    h('h3', {}, `Raw Qualys pages (${pages.length})`),
    table(
      ['Page', 'Range', 'id_min', 'Host ids', 'Truncated', 'Size', 'SHA-256', 'Qualys DATETIME', 'Attempts', 'Hosts', reduced ? 'Hosts asked for (smaller page)' : null, 'Raw page'].filter(Boolean),
      pages.map((p) =>
        h(
          'tr',
          {},
          h('td', { class: 'num' }, String(p.pageNo)),
          h('td', { class: 'num' }, sealed.get(p.pageNo)?.rangeNo ? String(sealed.get(p.pageNo).rangeNo) : '—'),
          h('td', { class: 'num' }, p.idMin === null ? '—' : String(p.idMin)),
          h('td', {}, hostIds(sealed.get(p.pageNo))),
          h('td', {}, truncated(sealed.get(p.pageNo))),
          h('td', { class: 'num' }, formatBytes(p.bytes)),
          h('td', {}, sha(p.sha256)),
          h('td', {}, p.qualysDatetime ?? '—'),
          h('td', { class: 'num' }, String(p.attempts)),
          h('td', { class: 'num' }, p.hosts === null ? '—' : String(p.hosts)),
          reduced ? h('td', { class: 'num' }, sealed.get(p.pageNo)?.truncationLimit ? String(sealed.get(p.pageNo).truncationLimit) : '—') : null,
          h('td', {}, downloadButton(p.links.content, { size: p.bytes, expected: p.sha256, name: `${evidence.filename} page ${p.pageNo}` })),
        ),
      ),
      {},
      'Raw Qualys pages',
    ),
  );
}
