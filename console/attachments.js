/**
 * The evidence filed under a control or an audit request: the files with
 * verified downloads, filing and taking off evidence by hand (with a reason
 * kept on the record), and every attach and detach event with who and when.
 * Any key may file evidence; a closed request no longer changes.
 */
import { enc, getAll, getJson, sendJson } from './api.js';
import { downloadButton } from './download.js';
import { badge, fill, formatBytes, formatTime, h, link, problemBox, section, sha, table } from './dom.js';
import { busy, confirmWithReason, errorSlots, field, input, select } from './forms.js';
import { href } from './router.js';

/** How many recent evidence files the picker offers. */
const CANDIDATES = 100;

const utcDay = (iso) => iso.slice(0, 10);

/** A paged table of the evidence filed under `path`, with verified downloads and an optional action per row. */
export async function attachedEvidenceTable(path, { rowAction = null, onItems = () => {} } = {}) {
  const tbody = h('tbody');
  const more = h('div', { class: 'more' });
  let count = 0;
  const row = (e) =>
    h(
      'tr',
      { 'data-evidence-id': e.id },
      h('td', {}, link(href('evidence', e.id), formatTime(e.collectedAt ?? e.createdAt))),
      h('td', {}, e.filename, e.completeness && e.completeness !== 'complete' ? ` (${e.completeness} pull)` : ''),
      h('td', { class: 'num' }, formatBytes(e.bytes)),
      h('td', {}, sha(e.sha256)),
      h('td', {}, formatTime(e.attachedAt)),
      h('td', {}, downloadButton(e.contentUrl, { size: e.bytes, expected: e.sha256, name: e.filename }), rowAction ? [' ', rowAction(e)] : null),
    );
  const load = async (cursor) => {
    const page = await getJson(`${path}${path.includes('?') ? '&' : '?'}limit=25${cursor ? `&cursor=${enc(cursor)}` : ''}`);
    tbody.append(...page.items.map(row));
    onItems(page.items);
    count += page.items.length;
    const button = page.nextCursor ? h('button', { type: 'button', class: 'quiet' }, 'Load more') : null;
    button?.addEventListener('click', () => busy(button, () => load(page.nextCursor)).catch((err) => fill(more, problemBox(err))));
    fill(more, button ?? '');
  };
  await load(null);
  if (count === 0) return h('p', {}, 'No evidence filed yet.');
  const t = table(['Collected', 'File', 'Size', 'SHA-256', 'Filed', ''], [], { class: 'attached' }, 'Evidence filed here');
  t.querySelector('tbody').replaceWith(tbody);
  return h('div', {}, t, more);
}

/** Every attach and detach, newest first, with "Load more". */
async function eventsTable(path, names) {
  const tbody = h('tbody');
  const more = h('div', { class: 'more' });
  let count = 0;
  const row = (e) =>
    h(
      'tr',
      { 'data-event-id': e.id },
      h('td', {}, formatTime(e.at)),
      h('td', {}, badge(e.action === 'attach' ? 'fresh' : 'missing', e.action === 'attach' ? 'filed' : 'taken off')),
      h('td', {}, link(href('evidence', e.evidenceId), names.get(e.evidenceId) ?? `evidence ${e.evidenceId.slice(0, 8)}`)),
      h('td', {}, e.source === 'run' ? ['run ', link(href('runs', e.actor), e.actor.slice(0, 8))] : e.actor),
      h('td', {}, e.reason ?? '—'),
    );
  const load = async (cursor) => {
    const page = await getJson(`${path}?limit=25${cursor ? `&cursor=${enc(cursor)}` : ''}`);
    tbody.append(...page.items.map(row));
    count += page.items.length;
    const button = page.nextCursor ? h('button', { type: 'button', class: 'quiet' }, 'Load more events') : null;
    button?.addEventListener('click', () => busy(button, () => load(page.nextCursor)).catch((err) => fill(more, problemBox(err))));
    fill(more, button ?? '');
  };
  await load(null);
  if (count === 0) return h('p', {}, 'Nothing filed or taken off yet.');
  const t = table(['When', 'What', 'Evidence', 'By', 'Reason'], [], { class: 'events' }, 'Filing history');
  t.querySelector('tbody').replaceWith(tbody);
  return h('div', {}, t, more);
}

/**
 * The evidence part of a control or request screen. `target`: { kind:
 * 'controls' | 'requests', id, name, period?: { start, end }, open }.
 * Redraws itself after each change, keeping the form where it is, and
 * calls `onChange` then.
 */
export async function evidencePart(target, { onChange = () => {} } = {}) {
  const base = `/v1/${target.kind}/${enc(target.id)}`;
  const [fetchers, recent] = await Promise.all([
    target.open ? getAll('/v1/fetchers?limit=500') : [],
    target.open ? getJson(`/v1/evidence?limit=${CANDIDATES}`).then((p) => p.items) : [],
  ]);
  const names = new Map(recent.map((e) => [e.id, e.filename]));
  const fetcherNames = new Map(fetchers.map((f) => [f.id, f.name]));
  const status = h('div', { 'aria-live': 'polite', class: 'attach-status' });
  const filed = h('div');
  const history = h('div');

  const detach = (e) => {
    const button = h('button', { type: 'button', class: 'danger', 'aria-label': `Take off ${e.filename}` }, 'Take off');
    button.addEventListener('click', () =>
      busy(button, async () => {
        const reason = await confirmWithReason({
          title: `Take ${e.filename} off ${target.name}?`,
          body: 'Nothing is deleted: the file stays, and the history below keeps when it was filed, when it was taken off, by whom and why.',
          confirm: 'Take off',
          danger: true,
        });
        if (reason === null) return;
        await sendJson('DELETE', `${base}/evidence/${enc(e.id)}${reason ? `?reason=${enc(reason)}` : ''}`);
        await redraw();
        await onChange();
        fill(status, h('p', { class: 'ok' }, `${e.filename} was taken off.`));
      }).catch((err) => fill(status, problemBox(err))),
    );
    return button;
  };

  const redraw = async () => {
    const files = await attachedEvidenceTable(`${base}/evidence`, {
      rowAction: target.open ? detach : null,
      onItems: (items) => items.forEach((e) => names.set(e.id, e.filename)),
    });
    fill(filed, files);
    fill(history, await eventsTable(`${base}/attachment-events`, names));
  };
  await redraw();

  return section(
    'Evidence',
    filed,
    target.open ? attachForm(target, base, recent, fetcherNames, status, async () => {
      await redraw();
      await onChange();
    }) : null,
    status,
    h('h3', {}, 'Filing history'),
    h('p', { class: 'hint' }, 'Every time evidence was filed here or taken off: by a run of a mapped fetcher, or by hand with the API key that did it.'),
    history,
  );
}

function attachForm(target, base, recent, fetcherNames, status, redraw) {
  const outside = (e) => target.period && (utcDay(e.collectedAt) < target.period.start || utcDay(e.collectedAt) > target.period.end);
  const evidence = field(
    'Evidence file',
    select(
      [['', recent.length ? 'Choose evidence…' : 'No evidence yet'], ...recent.map((e) => [e.id, `${formatTime(e.collectedAt)} · ${fetcherNames.get(e.fetcherId) ?? 'deleted fetcher'} · ${e.filename}${outside(e) ? ' (collected outside the period)' : ''}`])],
      '',
    ),
    target.period
      ? `The ${CANDIDATES} newest files, by collection time. Only evidence collected inside the period (${target.period.start} to ${target.period.end}, UTC days) can be filed.`
      : `The ${CANDIDATES} newest files, by collection time.`,
  );
  const reason = field('Reason (optional)', input({ autocomplete: 'off', maxlength: 1000 }), 'Kept with the event, e.g. "asked by the QSA".');
  const summary = h('div', { 'aria-live': 'polite' });
  const errors = errorSlots(summary, { evidenceId: evidence, 'param.evidenceId': evidence, reason });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'File evidence');
  const form = h('form', { class: 'stack attach', novalidate: true }, h('h3', {}, 'File evidence by hand'), evidence, reason, h('div', { class: 'actions' }, submit), summary);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(submit, async () => {
      errors.clear();
      fill(status);
      const id = evidence.control.value;
      if (!id) {
        errors.local('evidenceId', 'choose the evidence to file');
        return;
      }
      try {
        const body = reason.control.value.trim() ? { reason: reason.control.value.trim() } : undefined;
        const filedNow = await sendJson('POST', `${base}/evidence/${enc(id)}`, body);
        reason.control.value = '';
        await redraw();
        const what = evidence.control.selectedOptions[0]?.textContent ?? id;
        fill(status, h('p', { class: 'ok' }, filedNow.changed ? `Filed: ${what}.` : `Already filed here: ${what}.`));
      } catch (err) {
        errors.show(err);
      }
    });
  });
  return form;
}
