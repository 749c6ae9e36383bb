/* global performance */
/**
 * What changed between this pull and another of the same fetcher (the
 * previous one by default): new, fixed, re-opened and absent detections per
 * severity, hosts appearing and disappearing, and the CSV of every change.
 */
import { enc, getJson } from './api.js';
import { saveButton } from './download.js';
import { facts, fill, formatTime, h, problemBox, table } from './dom.js';
import { busy, errorSlots, field, select } from './forms.js';

/** Pulls offered to compare with; the previous one is looked for further back if need be. */
const OFFERED = 100;
const MAX_PAGES = 20;
const SEVERITIES = ['5', '4', '3', '2', '1'];
const CHANGES = [
  ['new', 'New'],
  ['fixed', 'Fixed'],
  ['reopened', 'Re-opened'],
  ['absent', 'Absent (open before, missing now on a host still there)'],
  ['still-open', 'Still open'],
  ['still-fixed', 'Still fixed'],
  ['onDisappearedHosts', 'On hosts no longer in the pull'],
];

/** The fetcher's other pulls (newest first, at most OFFERED) and the one just before this. */
async function otherPulls(evidence) {
  const offered = [];
  let previous = null;
  let found = false;
  let cursor = null;
  for (let i = 0; i < MAX_PAGES; i += 1) {
    const page = await getJson(`/v1/evidence?fetcherId=${enc(evidence.fetcherId)}&limit=${OFFERED}${cursor ? `&cursor=${enc(cursor)}` : ''}`);
    for (const e of page.items) {
      if (e.id === evidence.id) {
        found = true;
        continue;
      }
      if (found && !previous) previous = e;
      if (offered.length < OFFERED) offered.push(e);
    }
    cursor = page.nextCursor;
    if (previous || !cursor) break;
  }
  if (previous && !offered.some((e) => e.id === previous.id)) offered.push(previous);
  return { offered, previous };
}

function changesTable(d) {
  return table(
    ['Change', 'All', ...SEVERITIES.map((s) => `Severity ${s}`)],
    CHANGES.map(([key, label]) =>
      h('tr', { 'data-change': key }, h('th', { scope: 'row' }, label), h('td', { class: 'num' }, String(d[key].total)), SEVERITIES.map((s) => h('td', { class: 'num' }, String(d[key].bySeverity[s] ?? 0)))),
    ),
    { class: 'compact diff-counts' },
    'Detections per change and severity',
  );
}

function diffView(diff) {
  const ids = (n, first) => (first.length ? ` (host ids ${first.join(', ')}${n > first.length ? ', …' : ''})` : '');
  return h(
    'div',
    { class: 'diff' },
    diff.warnings.map((w) => h('p', { class: 'note warning' }, h('strong', {}, 'Note: '), `${w.charAt(0).toUpperCase()}${w.slice(1)}.`)),
    h('p', {}, `From the pull collected ${formatTime(diff.a.collectedAt)} to the one collected ${formatTime(diff.b.collectedAt)}.`),
    facts([
      ['Hosts in both', String(diff.hosts.inBoth)],
      ['Hosts appearing', `${diff.hosts.appeared}${ids(diff.hosts.appeared, diff.hosts.firstAppeared)}`],
      ['Hosts disappearing', `${diff.hosts.disappeared}${ids(diff.hosts.disappeared, diff.hosts.firstDisappeared)}`],
    ]),
    changesTable(diff.detections),
    h('div', { class: 'actions' }, saveButton('Download the changed detections as CSV', () => diff.links.csv, { name: `diff-${diff.a.evidenceId}-${diff.b.evidenceId}.csv` })),
  );
}

export async function diffPart(evidence) {
  const { offered, previous } = await otherPulls(evidence);
  if (offered.length === 0) return h('p', {}, 'This is the only pull of its fetcher: there is nothing to compare it with yet.');
  const other = field(
    'Compare with',
    select(offered.map((e) => [e.id, `${formatTime(e.collectedAt)} · ${e.filename}${e.id === previous?.id ? ' (the previous pull)' : ''}`]), previous?.id ?? offered[0].id),
    'Another pull of the same fetcher; the older of the two is the starting point.',
  );
  other.classList.add('wide');
  const out = h('div', { 'aria-live': 'polite' });
  const summary = h('div', { 'aria-live': 'polite' });
  const errors = errorSlots(summary, { 'param.id': other, 'param.other': other });
  const compare = h('button', { type: 'submit' }, 'Compare');
  const form = h('form', { class: 'inline-fields', novalidate: true }, other, h('div', { class: 'actions' }, compare));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(compare, async () => {
      errors.clear();
      fill(out, 'Comparing the two files host by host…');
      const started = performance.now();
      const chosen = offered.find((e) => e.id === other.control.value);
      const [older, newer] = Date.parse(chosen.collectedAt) <= Date.parse(evidence.collectedAt) ? [chosen, evidence] : [evidence, chosen];
      try {
        fill(out, diffView(await getJson(`/v1/evidence/${enc(older.id)}/diff/${enc(newer.id)}`)));
        performance.measure('part:diff', { start: started, end: performance.now() });
      } catch (err) {
        fill(out);
        if (err.status === 422) errors.show(err);
        else fill(out, problemBox(err));
      }
    });
  });
  return h('div', {}, form, summary, out);
}
