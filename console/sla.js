/* global performance, URLSearchParams */
/**
 * The SLA report of a Host List Detection pull as of a date: a policy
 * (FedRAMP, PCI DSS, commercial or one's own in JSON), the counts per
 * severity and verdict, the share within the SLA, the exceptions (the first
 * ones here, every detection in the CSV), and the warning when the fetcher
 * left Fixed detections out.
 */
import { enc, send } from './api.js';
import { saveButton } from './download.js';
import { facts, fill, h, problemBox, table } from './dom.js';
import { busy, choice, errorSlots, field, group, input, select } from './forms.js';
import { readWithLongList } from './json-stream.js';

/** Exceptions drawn on the page; the CSV holds them all. */
const SHOWN_EXCEPTIONS = 25;
const VERDICTS = ['on-time', 'fixed-late', 'overdue', 'open-within-sla'];
const VERDICT_NAMES = { 'on-time': 'Fixed on time', 'fixed-late': 'Fixed late', overdue: 'Open, overdue', 'open-within-sla': 'Open, within SLA' };
const POLICIES = [
  ['commercial', 'Commercial: Critical 15, High 30, Medium 90, Low 180 days'],
  ['fedramp', 'FedRAMP: High 30, Moderate 90, Low 180 days'],
  ['pci-dss', 'PCI DSS: Critical 30 days, others 90'],
  ['custom', 'Our own policy (JSON)'],
];
const CUSTOM_EXAMPLE = '{"name":"ours","days":{"critical":7,"high":30,"medium":60,"low":120}}';

const total = (counts) => VERDICTS.reduce((sum, v) => sum + (counts[v] ?? 0), 0);

function countsTable(report) {
  const row = (head, counts) => h('tr', {}, head, VERDICTS.map((v) => h('td', { class: 'num' }, String(counts[v] ?? 0))), h('td', { class: 'num' }, String(total(counts))));
  const severities = Object.keys(report.counts.bySeverity).sort((a, b) => Number(b) - Number(a));
  return table(
    ['Severity', ...VERDICTS.map((v) => VERDICT_NAMES[v]), 'Total'],
    [
      ...severities.map((s) => row(h('th', { scope: 'row' }, `${s} (${report.severityMapping[s] ?? '?'})`), report.counts.bySeverity[s])),
      row(h('th', { scope: 'row' }, 'All'), report.counts.total),
    ],
    { class: 'compact sla-counts' },
    'Detections per severity and verdict',
  );
}

function exceptionsTable(exceptions) {
  return table(
    ['Why', 'Host id', 'IP', 'QID', 'Severity', 'Status', 'Clock start', 'Due', 'Ended', 'Days over'],
    exceptions.map((e) =>
      h(
        'tr',
        {},
        h('td', {}, e.reason),
        h('td', { class: 'num' }, String(e.hostId)),
        h('td', {}, e.ip),
        h('td', { class: 'num' }, String(e.qid)),
        h('td', {}, `${e.severity} (${e.category})`),
        h('td', {}, e.status),
        h('td', {}, e.clockStart.slice(0, 10)),
        h('td', {}, e.dueDate),
        h('td', {}, e.end ? e.end.slice(0, 10) : 'open'),
        h('td', { class: 'num' }, String(e.daysOver)),
      ),
    ),
    { class: 'compact' },
    'SLA exceptions',
  );
}

function reportView(report, listed, csv) {
  const c = report.counts;
  const percent = report.withinSlaPercent === null ? 'no detection to judge' : `${report.withinSlaPercent}% within SLA`;
  return h(
    'div',
    { class: 'sla-report' },
    report.warnings.map((w) => h('p', { class: 'note warning' }, h('strong', {}, 'Note: '), `${w.charAt(0).toUpperCase()}${w.slice(1)}.`)),
    h('p', { class: 'headline' }, h('strong', {}, percent), ` as of the end of ${report.asOf} (UTC), policy ${report.policy.name}${report.policy.strict ? ', strict (re-opened detections keep their first-found clock)' : ''}.`),
    facts([
      ['Policy', `${report.policy.source}`],
      ['Days per category', Object.entries(report.policy.days).map(([k, v]) => `${k} ${v}`).join(', ')],
      ['Severity mapping', Object.entries(report.severityMapping).sort(([a], [b]) => Number(b) - Number(a)).map(([s, cat]) => `${s} → ${cat}`).join(', ')],
      ['Detections judged', String(c.assessed)],
      ['Left out', `${c.excluded.info} Info, ${c.excluded.foundAfterAsOf} found after the date, ${c.excluded.undated} without dates, ${c.excluded.unknownSeverity} of unknown severity`],
      ['Listed apart', `${c.exceptions.disabled} disabled, ${c.exceptions.ignored} ignored`],
    ]),
    countsTable(report),
    h('h3', {}, `Exceptions (${listed})`),
    listed
      ? [exceptionsTable(report.exceptions), listed > report.exceptions.length ? h('p', { class: 'hint' }, `The first ${report.exceptions.length} of ${listed}; the CSV has every detection.`) : null]
      : h('p', {}, 'No breach, disabled or ignored detection.'),
    h('div', { class: 'actions' }, csv),
  );
}

export function slaPart(evidence) {
  const policy = field('Policy', select(POLICIES, 'commercial'), 'Days each severity may stay open. FedRAMP counts Qualys Critical and High as High; PCI DSS req. 6.3.3 gives critical ones one month.');
  const custom = field('Policy (JSON)', (() => {
    const area = h('textarea', { rows: 3, spellcheck: 'false', class: 'code' });
    area.value = CUSTOM_EXAMPLE;
    return area;
  })(), '"days" per category (critical, high, medium, low); optional "severityMapping" such as {"3":"high"}.');
  custom.hidden = true;
  policy.control.addEventListener('change', () => {
    custom.hidden = policy.control.value !== 'custom';
  });
  const asOf = field('As of', input({ type: 'date', value: evidence.collectedAt.slice(0, 10) }), 'The state at the end of this day (UTC) is judged; the day the data was collected by default.');
  const strictness = group('Re-opened detections', [choice('checkbox', 'strict', 'true', 'Keep their first-found clock (strict)')]);
  const out = h('div', { 'aria-live': 'polite' });
  const summary = h('div', { 'aria-live': 'polite' });
  const errors = errorSlots(summary, () => ({ 'query.asOf': asOf, 'query.policy': policy.control.value === 'custom' ? custom : policy, 'query.strict': strictness }));
  const show = h('button', { type: 'submit' }, 'Show SLA report');
  const query = () => {
    const q = new URLSearchParams({ asOf: asOf.control.value, policy: policy.control.value === 'custom' ? custom.control.value : policy.control.value });
    if (strictness.querySelector('input').checked) q.set('strict', 'true');
    return q;
  };
  const load = async () => {
    errors.clear();
    fill(out, 'Judging every detection of the file…');
    const started = performance.now();
    const q = query();
    try {
      const res = await send('GET', `/v1/evidence/${enc(evidence.id)}/sla?${q}`);
      const { value, listed } = await readWithLongList(res.body, 'exceptions', SHOWN_EXCEPTIONS);
      q.set('format', 'csv');
      const csv = saveButton('Download the SLA report as CSV', () => `/v1/evidence/${enc(evidence.id)}/sla?${q}`, { sizeHint: () => evidence.bytes, name: `sla-${evidence.id}-${value.asOf}.csv` });
      fill(out, reportView(value, listed, csv));
      performance.measure('part:sla', { start: started, end: performance.now() });
    } catch (err) {
      fill(out);
      if (err.status === 422) errors.show(err);
      else fill(out, problemBox(err));
    }
  };
  const form = h('form', { class: 'inline-fields', novalidate: true }, policy, asOf, custom, strictness, h('div', { class: 'actions' }, show));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(show, load);
  });
  return h('div', {}, h('p', { class: 'hint' }, 'Per detection: when its clock started (first found, or the last re-open), when it was fixed, and whether that was within the policy\'s days as of a date. Info detections are left out.'), form, summary, out);
}
