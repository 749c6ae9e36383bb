/* global URLSearchParams */
/**
 * Audit requests: the list, creating one (title, period, due date,
 * controls) for administrators, and one request with its controls, the
 * evidence filed under it (by runs or by hand, with the history), and the
 * export of it all as one zip.
 */
import { enc, getAll, getJson, sendJson } from './api.js';
import { badge, controlName, facts, fill, formatBytes, formatDate, h, link, problemBox, screenHead, section, table } from './dom.js';
import { busy, checkedValues, choice, confirmAction, errorSlots, field, group, input } from './forms.js';
import { evidencePart } from './attachments.js';
import { saveButton } from './download.js';
import { multiSelect } from './pickers.js';
import { href } from './router.js';

export async function renderRequests(content, ctx) {
  const [requests, catalog] = await Promise.all([getAll('/v1/requests?limit=500'), ctx.isAdmin ? getJson('/v1/controls').then((c) => c.items) : []]);
  fill(content,
    screenHead('Audit requests'),
    requests.length
      ? table(
          ['Title', 'Period', 'Due', 'Status', 'Controls'],
          requests.map((r) =>
            h(
              'tr',
              { 'data-request-id': r.id },
              h('th', { scope: 'row' }, link(href('requests', r.id), r.title)),
              h('td', {}, `${r.periodStart} to ${r.periodEnd}`),
              h('td', {}, r.dueDate ?? '—'),
              h('td', {}, badge(r.status === 'open' ? 'running' : 'missing', r.status)),
              h('td', {}, r.controls.map(controlName).join(', ') || '—'),
            ),
          ),
        )
      : h('p', {}, 'No audit requests yet.'),
    ctx.isAdmin ? section('New audit request', requestForm(catalog, ctx)) : null,
  );
}

function requestForm(catalog, ctx) {
  const title = field('Title', input({ autocomplete: 'off' }), 'e.g. "PCI DSS 2026 Q1: quarterly scans".');
  const description = field('Description (optional)', input({ autocomplete: 'off' }));
  const periodStart = field('Period start', input({ type: 'date' }), 'First day of the period under audit.');
  const periodEnd = field('Period end', input({ type: 'date' }), 'Last day of the period under audit.');
  const dueDate = field('Due date (optional)', input({ type: 'date' }));
  const controls = multiSelect({
    legend: 'Controls whose evidence is requested',
    hint: 'Evidence from fetchers mapped to these controls is filed under the request while it is open.',
    items: catalog.map((c) => ({ value: c.id, label: `${c.code} ${c.name}`, group: c.framework })),
    filterLabel: 'Search controls',
  });
  const summary = h('div', { 'aria-live': 'polite' });
  const errors = errorSlots(summary, { title, description, periodStart, periodEnd, dueDate, controlIds: controls });
  const create = h('button', { type: 'submit', class: 'primary' }, 'Create audit request');
  const form = h('form', { class: 'stack', novalidate: true }, title, description, periodStart, periodEnd, dueDate, controls, h('div', { class: 'actions' }, create), summary);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(create, async () => {
      errors.clear();
      const body = { title: title.control.value, periodStart: periodStart.control.value, periodEnd: periodEnd.control.value, controlIds: controls.values() };
      if (description.control.value) body.description = description.control.value;
      if (dueDate.control.value) body.dueDate = dueDate.control.value;
      try {
        const created = await sendJson('POST', '/v1/requests', body);
        ctx.navigate(href('requests', created.id));
      } catch (err) {
        errors.show(err);
      }
    });
  });
  return form;
}

export async function renderRequest(content, ctx) {
  const request = await getJson(`/v1/requests/${enc(ctx.params.id)}`);
  const [controls, evidence, exporting] = await Promise.all([
    controlsPart(request, ctx),
    evidencePart(
      { kind: 'requests', id: request.id, name: request.title, period: { start: request.periodStart, end: request.periodEnd }, open: request.status === 'open' },
      // The export says how much it holds: told again after each change.
      { onChange: () => exporting.update() },
    ),
    exportSection(request),
  ]);
  const area = h('div', { 'aria-live': 'polite' });
  const close = ctx.isAdmin && request.status === 'open' ? h('button', { type: 'button' }, 'Close request') : null;
  close?.addEventListener('click', () =>
    busy(close, async () => {
      const ok = await confirmAction({ title: `Close ${request.title}?`, body: 'It keeps its evidence and receives no new evidence.', confirm: 'Close request', danger: false });
      if (!ok) return;
      await sendJson('POST', `/v1/requests/${enc(request.id)}/close`);
      ctx.reload();
    }).catch((err) => fill(area, problemBox(err))),
  );
  fill(content,
    screenHead(request.title, close),
    area,
    facts([
      ['Period', `${request.periodStart} to ${request.periodEnd}`],
      ['Due', request.dueDate ?? '—'],
      ['Status', [badge(request.status === 'open' ? 'running' : 'missing', request.status), request.closedAt ? ` since ${formatDate(request.closedAt)}` : '']],
      ['Description', request.description || null],
    ]),
    controls,
    evidence,
    exporting,
  );
}

/** The zip for the auditor's archive, saved with the key like every download (streamed into a file when large). */
async function exportSection(request) {
  const options = group('What the zip holds', [
    choice('checkbox', 'export', 'pages', 'The raw Qualys pages of each file (pages/)', true),
    choice('checkbox', 'export', 'verify', 'Verify each file on the server first (its verdict goes into index.json)', true),
  ]);
  const ticked = (value) => checkedValues(options, 'export').includes(value);
  const about = h('p', { class: 'hint' });
  /** Bytes of evidence filed now: picks the streamed save for large zips. */
  let bytes = 0;
  const update = async () => {
    const filed = await getAll(`/v1/requests/${enc(request.id)}/evidence?limit=500`);
    bytes = filed.reduce((sum, e) => sum + e.bytes, 0);
    fill(about, `One zip of the ${filed.length} file(s) filed here (${formatBytes(bytes)} of evidence, about as much again in raw pages): README.txt, index.json with each file's SHA-256, completeness and verification verdicts, and per file its manifest. Unzip it and run "npm run verify" on a file to check it offline.`);
  };
  await update();
  const path = () => {
    const query = new URLSearchParams();
    if (!ticked('pages')) query.set('pages', 'false');
    if (!ticked('verify')) query.set('verify', 'false');
    return `/v1/requests/${enc(request.id)}/export${query.size ? `?${query}` : ''}`;
  };
  const part = section(
    'Export',
    about,
    options,
    h('div', { class: 'actions' }, saveButton('Export as zip', path, { sizeHint: () => (ticked('pages') ? 2 : 1) * bytes, working: 'Preparing the zip (every file is verified first unless unticked)…', name: `evidence-${request.id}.zip` })),
  );
  part.update = update;
  return part;
}




async function controlsPart(request, ctx) {
  const listed = request.controls.length
    ? h('ul', {}, request.controls.map((c) => h('li', {}, link(href('controls', c.id), controlName(c)), ` ${c.name}`)))
    : h('p', {}, 'No controls named.');
  if (!ctx.isAdmin) return section('Controls', listed);
  const catalog = (await getJson('/v1/controls')).items;
  const picker = multiSelect({
    legend: 'Controls of this request',
    items: catalog.map((c) => ({ value: c.id, label: `${c.code} ${c.name}`, group: c.framework })),
    selected: request.controls.map((c) => c.id),
    filterLabel: 'Search controls',
  });
  const status = h('div', { 'aria-live': 'polite' });
  const save = h('button', { type: 'submit' }, 'Save controls');
  const form = h('form', { class: 'stack' }, picker, h('div', { class: 'actions' }, save), status);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(save, async () => {
      try {
        await sendJson('PUT', `/v1/requests/${enc(request.id)}/controls`, { controlIds: picker.values() });
        ctx.reload();
      } catch (err) {
        fill(status, problemBox(err));
      }
    });
  });
  return section('Controls', listed, h('details', {}, h('summary', {}, 'Change the controls'), form));
}
