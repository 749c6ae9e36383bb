/**
 * Controls: the catalog grouped by framework with each control's freshness,
 * and one control with the fetchers mapped to it and its evidence history.
 */
import { enc, getJson } from './api.js';
import { downloadButton } from './download.js';
import { badge, facts, fill, formatBytes, formatDate, formatTime, h, link, problemBox, screenHead, section, sha, table } from './dom.js';
import { busy } from './forms.js';
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

/** A paged table of evidence filed under a control or a request, with verified downloads. */
export async function attachedEvidenceTable(path, extraColumn = null) {
  const tbody = h('tbody');
  const more = h('div', { class: 'more' });
  let count = 0;
  const row = (e) =>
    h(
      'tr',
      { 'data-evidence-id': e.id },
      h('td', {}, link(href('evidence', e.id), formatTime(e.createdAt))),
      h('td', {}, e.filename, e.complete ? '' : ' (incomplete pull)'),
      h('td', { class: 'num' }, formatBytes(e.bytes)),
      h('td', {}, sha(e.sha256)),
      h('td', {}, formatTime(e.attachedAt)),
      h('td', {}, downloadButton(e.contentUrl, { size: e.bytes, expected: e.sha256, name: e.filename }), extraColumn ? extraColumn(e) : null),
    );
  const load = async (cursor) => {
    const page = await getJson(`${path}${path.includes('?') ? '&' : '?'}limit=25${cursor ? `&cursor=${enc(cursor)}` : ''}`);
    tbody.append(...page.items.map(row));
    count += page.items.length;
    const button = page.nextCursor ? h('button', { type: 'button', class: 'quiet' }, 'Load more') : null;
    button?.addEventListener('click', () => busy(button, () => load(page.nextCursor)).catch((err) => fill(more, problemBox(err))));
    fill(more, button ?? '');
  };
  await load(null);
  if (count === 0) return h('p', {}, 'No evidence filed yet.');
  const t = table(['Sealed', 'File', 'Size', 'SHA-256', 'Filed', ''], []);
  t.querySelector('tbody').replaceWith(tbody);
  return h('div', {}, t, more);
}

export async function renderControl(content, ctx) {
  const control = await getJson(`/v1/controls/${enc(ctx.params.id)}`);
  fill(content,
    screenHead(`${control.framework} ${control.code}: ${control.name}`),
    facts([
      ['Cadence', control.cadence ?? 'none named by the framework'],
      ['Freshness', [badge(control.freshness.state), ' ', freshnessText(control.freshness)]],
      ['Fetchers', control.fetchers.length ? control.fetchers.map((f, i) => [i ? ', ' : '', link(href('fetchers', f.id), f.name), f.enabled ? '' : ' (disabled)']) : 'none mapped'],
    ]),
    h('p', { class: 'description' }, control.description),
    section('Evidence', await attachedEvidenceTable(`/v1/controls/${enc(control.id)}/evidence`)),
  );
}
