/* global performance, URLSearchParams */
/**
 * A control's coverage over a period: the period cut into the control's
 * cadence windows (calendar quarters, months or ISO weeks, UTC), each
 * covered by complete evidence, unverified (evidence, none complete) or
 * missing, with the windows lacking complete evidence named.
 */
import { enc, getJson } from './api.js';
import { badge, fill, h, link, problemBox, sha, table } from './dom.js';
import { busy, errorSlots, field, input, select } from './forms.js';
import { href } from './router.js';

const STATE_BADGE = { covered: 'fresh', unverified: 'due', missing: 'stale' };
const CADENCES = [
  ['weekly', 'weekly (ISO weeks, Monday to Sunday)'],
  ['monthly', 'monthly (calendar months)'],
  ['quarterly', 'quarterly (calendar quarters)'],
];

function coverageView(c) {
  const gaps = c.windowsWithoutCompleteEvidence;
  return h(
    'div',
    { class: 'coverage' },
    h('p', {}, `${c.from} to ${c.to}, ${c.cadence}: ${c.rule}.`),
    gaps.length
      ? h('p', { class: 'problem' }, `${gaps.length} of ${c.windows.length} window(s) without complete evidence: ${gaps.join(', ')}.`)
      : h('p', { class: 'ok' }, `Every one of the ${c.windows.length} window(s) has complete evidence.`),
    table(
      ['Window', 'Days', 'Coverage', 'Evidence collected in it'],
      c.windows.map((w) =>
        h(
          'tr',
          { 'data-window': w.label },
          h('th', { scope: 'row' }, w.label),
          h('td', {}, `${w.start} to ${w.end}`),
          h('td', {}, badge(STATE_BADGE[w.status], w.status)),
          h(
            'td',
            {},
            w.evidence.length
              ? h('ul', { class: 'plain' }, w.evidence.map((e) => h('li', {}, link(href('evidence', e.id), e.collectedAt.slice(0, 16).replace('T', ' ')), ` UTC, ${e.completeness}`, e.scheduledFor ? `, scheduled for ${e.scheduledFor.slice(0, 10)}` : '', ' ', sha(e.sha256))))
              : 'none',
          ),
        ),
      ),
      { class: 'coverage-windows' },
      'Coverage per window',
    ),
    h('p', { class: 'hint' }, 'Freshness, which goes by age rather than by calendar window: ', badge(c.freshness.state), ` (${c.freshness.rule}).`),
  );
}

/** The form (period, optional cadence) and the windows; shown at once for this year when the control has a cadence. */
export async function coveragePart(control) {
  const year = new Date().getUTCFullYear();
  const from = field('From', input({ type: 'date', value: `${year}-01-01` }), 'First day of the period (UTC).');
  const to = field('To', input({ type: 'date', value: `${year}-12-31` }), 'Last day of the period (UTC).');
  const cadence = field(
    'Cadence',
    select([['', control.cadence ? `the control's own: ${control.cadence}` : 'choose one: this control names none'], ...CADENCES], ''),
    'How the period is cut into windows.',
  );
  const out = h('div', { 'aria-live': 'polite' });
  const summary = h('div', { 'aria-live': 'polite' });
  const errors = errorSlots(summary, { 'query.from': from, 'query.to': to, 'query.cadence': cadence });
  const show = h('button', { type: 'submit' }, 'Show coverage');
  const load = async () => {
    errors.clear();
    const started = performance.now();
    const query = new URLSearchParams({ from: from.control.value, to: to.control.value });
    if (cadence.control.value) query.set('cadence', cadence.control.value);
    try {
      fill(out, coverageView(await getJson(`/v1/controls/${enc(control.id)}/coverage?${query}`)));
      performance.measure('part:coverage', { start: started, end: performance.now() });
    } catch (err) {
      fill(out);
      if (err.status === 422) errors.show(err);
      else fill(out, problemBox(err));
    }
  };
  const form = h('form', { class: 'inline-fields', novalidate: true }, from, to, cadence, h('div', { class: 'actions' }, show));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(show, load);
  });
  if (control.cadence) await load();
  return h('div', {}, h('p', { class: 'hint' }, 'Which cadence windows of a period have evidence collected in them; a backfilled run counts for when it collected, never for when it was scheduled.'), form, summary, out);
}
