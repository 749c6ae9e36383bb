/**
 * Controls: the catalog grouped by framework with each control's freshness,
 * and one control with the fetchers mapped to it, its coverage per cadence
 * window over a period, its successors in current framework versions, and
 * its evidence (filed and taken off by hand, with the history).
 */
import { enc, getJson } from './api.js';
import { evidencePart } from './attachments.js';
import { coveragePart } from './coverage.js';
import { badge, controlName, facts, fill, formatBytes, formatDate, formatTime, h, link, screenHead, section, table } from './dom.js';
import { href } from './router.js';

export function freshnessText(freshness) {
  if (freshness.state === 'missing') return 'no evidence yet';
  const age = freshness.ageDays === 0 ? 'today' : `${freshness.ageDays} day(s) old`;
  return freshness.dueAt ? `${age}, due ${formatDate(freshness.dueAt)}` : `${age}, no cadence set`;
}

function controlRow(c) {
  const latest = c.latestEvidence;
  return h(
    'tr',
    { 'data-control-id': c.id },
    h('th', { scope: 'row' }, link(href('controls', c.id), c.code)),
    h('td', {}, c.name),
    h('td', {}, c.cadence ?? '—'),
    h('td', { class: 'freshness' }, badge(c.freshness.state), ' ', freshnessText(c.freshness)),
    h('td', {}, latest ? link(href('evidence', latest.id), `${formatTime(latest.createdAt)}, ${formatBytes(latest.bytes)}`) : '—'),
  );
}

export async function renderControls(content) {
  const { items } = await getJson('/v1/controls');
  const frameworks = new Map();
  for (const control of items) {
    if (!frameworks.has(control.framework)) frameworks.set(control.framework, []);
    frameworks.get(control.framework).push(control);
  }
  const counts = ['fresh', 'due', 'stale', 'missing'].map((state) => [state, items.filter((c) => c.freshness.state === state).length]);
  fill(content,
    screenHead('Controls'),
    h('p', { class: 'hint' }, 'Freshness says whether the latest evidence still covers the cadence the framework demands: fresh, due (pull now), stale, or missing.'),
    h('p', { class: 'totals' }, counts.map(([state, n]) => [badge(state), ` ${n} `])),
    ...Array.from(frameworks, ([framework, controls]) =>
      section(framework, table(['Code', 'Control', 'Cadence', 'Freshness', 'Latest evidence'], controls.map(controlRow), { class: 'catalog' })),
    ),
  );
}

export async function renderControl(content, ctx) {
  const [control, catalog] = await Promise.all([getJson(`/v1/controls/${enc(ctx.params.id)}`), getJson('/v1/controls').then((c) => c.items)]);
  const predecessor = control.succeeds ? catalog.find((c) => c.id === control.succeeds) : null;
  const successors = catalog.filter((c) => c.succeeds === control.id);
  const [coverage, evidence] = await Promise.all([coveragePart(control), evidencePart({ kind: 'controls', id: control.id, name: controlName(control), open: true })]);
  fill(content,
    screenHead(`${control.framework} ${control.code}: ${control.name}`),
    facts([
      ['Cadence', control.cadence ?? 'none named by the framework'],
      ['Freshness', [badge(control.freshness.state), ' ', freshnessText(control.freshness)]],
      ['Fetchers', control.fetchers.length ? control.fetchers.map((f, i) => [i ? ', ' : '', link(href('fetchers', f.id), f.name), f.enabled ? '' : ' (disabled)']) : 'none mapped'],
      ['Replaces', predecessor ? link(href('controls', predecessor.id), controlName(predecessor)) : null],
      ['Current versions', successors.length ? successors.map((c, i) => [i ? ', ' : '', link(href('controls', c.id), controlName(c))]) : null],
    ]),
    successors.length
      ? h('p', { class: 'note' }, 'This control has successors in the current framework versions. A fetcher mapped to it is moved to them in one step on the fetcher\'s screen ("Move to the current versions"); evidence already filed stays here.')
      : null,
    h('p', { class: 'description' }, control.description),
    section('Coverage', coverage),
    evidence,
  );
}
