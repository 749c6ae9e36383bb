/**
 * One fetcher: its definition and what Qualys receives, the controls and
 * audit requests its evidence is filed under (administrators map them),
 * its schedules, Run now, and its runs.
 */
import { enc, getAll, getJson, sendJson } from './api.js';
import { badge, controlName, facts, fill, h, link, problemBox, screenHead, section } from './dom.js';
import { busy, choice, confirmAction } from './forms.js';
import { KIND_NAMES, runButton } from './fetchers.js';
import { multiSelect } from './pickers.js';
import { href } from './router.js';
import { runsTable } from './runs.js';
import { schedulesSection } from './schedules.js';

export async function renderFetcher(content, ctx) {
  const id = ctx.params.id;
  const [fetcher, controls, requests] = await Promise.all([
    getJson(`/v1/fetchers/${enc(id)}`),
    getJson('/v1/controls'),
    getAll('/v1/requests?limit=500'),
  ]);
  // Independent reads at once: the schedules wait on Temporal, the runs on the database.
  const [connection, schedules, runs] = await Promise.all([
    getJson(`/v1/connections/${enc(fetcher.connectionId)}`),
    schedulesSection(fetcher, ctx),
    runsTable(`/v1/runs?limit=25&fetcherId=${enc(fetcher.id)}`, { fetcherNames: new Map([[fetcher.id, fetcher.name]]) }),
  ]);
  const area = h('div', { class: 'card-action', 'aria-live': 'polite' });

  const adminActions = ctx.isAdmin
    ? [
        h('a', { class: 'button', href: href('fetchers', fetcher.id, 'edit') }, 'Edit'),
        actionButton(fetcher.enabled ? 'Disable' : 'Enable', area, async () => {
          await sendJson('PATCH', `/v1/fetchers/${enc(fetcher.id)}`, { enabled: !fetcher.enabled });
          ctx.reload();
        }),
        actionButton(
          'Delete',
          area,
          async () => {
            const ok = await confirmAction({
              title: `Delete ${fetcher.name}?`,
              body: ['The fetcher and its schedules are removed; it stops running.', 'Its past runs and evidence are kept, still filed under their controls and requests.'],
              confirm: 'Delete fetcher',
            });
            if (!ok) return;
            await sendJson('DELETE', `/v1/fetchers/${enc(fetcher.id)}`);
            ctx.navigate(href('fetchers'));
          },
          'danger',
        ),
      ]
    : [];

  fill(content,
    screenHead(fetcher.name, runButton(fetcher, ctx, area), ...adminActions),
    area,
    facts([
      ['Kind', KIND_NAMES[fetcher.kind]],
      ['State', fetcher.enabled ? badge('fresh', 'enabled') : badge('missing', 'disabled')],
      ['Connection', `${connection.name} (${connection.status}, API ${connection.apiVersion})`],
      ['Format', fetcher.format],
      ['Page size', fetcher.pageSize === null ? null : `${fetcher.pageSize} hosts`],
    ]),
    fetcher.configProblem ? h('p', { class: 'problem' }, `This fetcher cannot run as defined: ${fetcher.configProblem}`) : null,
    definitionSection(fetcher),
    controlsSection(fetcher, controls.items, ctx),
    requestsSection(fetcher, requests, ctx),
    schedules,
    section('Runs', runs),
  );
}

function actionButton(label, area, work, cls = '') {
  const button = h('button', { type: 'button', class: cls }, label);
  button.addEventListener('click', () => busy(button, work).catch((err) => fill(area, problemBox(err))));
  return button;
}

function definitionSection(fetcher) {
  const pre = (value) => h('pre', { class: 'code' }, JSON.stringify(value, null, 2));
  return section(
    'Definition',
    fetcher.kind === 'custom'
      ? facts([
          ['Method', fetcher.request.method],
          ['Endpoint', h('code', {}, fetcher.request.endpoint)],
          ['Parameters', pre(fetcher.request.params)],
        ])
      : facts([
          ['Filters', pre(fetcher.filters)],
          ['Qualys receives', fetcher.qualysParams ? pre(fetcher.qualysParams) : '—'],
        ]),
  );
}

/** A multi-select saved with one PUT, for administrators; a plain list for auditors. */
function mappingForm({ picker, save, saveLabel }) {
  const status = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'primary' }, saveLabel);
  const form = h('form', { class: 'stack' }, picker, h('div', { class: 'actions' }, button), status);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(button, async () => {
      fill(status);
      picker.error.hidden = true;
      try {
        await save(picker.values());
        fill(status, h('p', { class: 'ok' }, 'Saved.'));
      } catch (err) {
        picker.error.textContent = err.errors?.map((e) => e.reason).join('; ') || err.message;
        picker.error.hidden = false;
        fill(status, problemBox(err));
      }
    });
  });
  return form;
}

function controlsSection(fetcher, catalog, ctx) {
  const mapped = fetcher.controls.length
    ? h('ul', {}, fetcher.controls.map((c) => h('li', {}, link(href('controls', c.id), controlName(c)), ` ${c.name}`)))
    : h('p', {}, 'No controls mapped yet.');
  const upgrade = upgradePart(fetcher, catalog, ctx);
  if (!ctx.isAdmin) return section('Mapped controls', mapped, upgrade);
  const picker = multiSelect({
    legend: 'Controls this fetcher provides evidence for',
    hint: 'New evidence is filed under every ticked control and the open audit requests that cover them.',
    items: catalog.map((c) => ({ value: c.id, label: `${c.code} ${c.name}`, group: c.framework })),
    selected: fetcher.controls.map((c) => c.id),
    filterLabel: 'Search controls',
  });
  return section(
    'Mapped controls',
    mapped,
    upgrade,
    mappingForm({ picker, saveLabel: 'Save controls', save: (controlIds) => sendJson('PUT', `/v1/fetchers/${enc(fetcher.id)}/controls`, { controlIds }).then(ctx.reload) }),
  );
}

/**
 * Mapped controls of older framework versions with successors in the
 * catalog (PCI DSS v3.2.1 11.2.1 → v4.0.1 11.3.1…), and for administrators
 * the one-step move to them.
 */
function upgradePart(fetcher, catalog, ctx) {
  const moves = fetcher.controls
    .map((c) => ({ from: c, to: catalog.filter((s) => s.succeeds === c.id) }))
    .filter((move) => move.to.length > 0);
  if (moves.length === 0) return null;
  const list = h(
    'ul',
    { class: 'upgrades' },
    moves.map((move) => h('li', {}, link(href('controls', move.from.id), controlName(move.from)), ' → ', move.to.map((c, i) => [i ? ', ' : '', link(href('controls', c.id), controlName(c))]))),
  );
  const intro = h('p', {}, `${moves.length === 1 ? 'One mapped control has' : `${moves.length} mapped controls have`} successors in the current framework versions:`);
  if (!ctx.isAdmin) return h('div', { class: 'note upgrade' }, intro, list);
  const keep = choice('checkbox', 'keep-old', 'true', 'Keep the old controls mapped as well');
  const status = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'button', class: 'primary' }, 'Move to the current versions');
  button.addEventListener('click', () =>
    busy(button, async () => {
      fill(status);
      try {
        const keepOld = keep.querySelector('input').checked;
        // The screen drawn again shows the controls mapped now.
        await sendJson('POST', `/v1/fetchers/${enc(fetcher.id)}/controls/upgrade`, { controlIds: moves.map((move) => move.from.id), keepOld });
        ctx.reload();
      } catch (err) {
        fill(status, problemBox(err));
      }
    }),
  );
  return h('div', { class: 'note upgrade' }, intro, list, h('p', { class: 'hint' }, 'New evidence is then filed under the successors; evidence already filed stays under the old controls.'), keep, h('div', { class: 'actions' }, button), status);
}

function requestsSection(fetcher, requests, ctx) {
  const byId = new Map(requests.map((r) => [r.id, r]));
  const mapped = fetcher.requestIds.length
    ? h('ul', {}, fetcher.requestIds.map((id) => h('li', {}, link(href('requests', id), byId.get(id)?.title ?? id))))
    : h('p', {}, 'No audit requests mapped yet.');
  if (!ctx.isAdmin) return section('Audit requests', mapped);
  const picker = multiSelect({
    legend: 'Audit requests this fetcher provides evidence for',
    hint: 'Evidence is filed under a request while it is open.',
    items: requests.map((r) => ({ value: r.id, label: r.title, detail: `(${r.periodStart} to ${r.periodEnd}, ${r.status})` })),
    selected: fetcher.requestIds,
    filterLabel: 'Search audit requests',
  });
  return section(
    'Audit requests',
    mapped,
    requests.length
      ? mappingForm({ picker, saveLabel: 'Save audit requests', save: (requestIds) => sendJson('PUT', `/v1/fetchers/${enc(fetcher.id)}/requests`, { requestIds }).then(ctx.reload) })
      : h('p', { class: 'hint' }, 'No audit requests exist yet: create them on the ', link('#/requests', 'Audit requests'), ' screen.'),
  );
}
