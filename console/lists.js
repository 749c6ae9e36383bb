/**
 * The read-only screens: controls with the freshness of their evidence,
 * recent evidence, and recent runs.
 */
import { getAll, getJson } from './api.js';
import { badge, controlName, downloadButton, formatBytes, formatDate, formatTime, h, problemBox, sha } from './dom.js';

const PAGE = 25;

function table(headings, body) {
  return h('table', {}, h('thead', {}, h('tr', {}, headings.map((t) => h('th', { scope: 'col' }, t)))), body);
}

/** A table of the first page, with a "Load more" button while the API has more. */
async function pagedTable(content, path, headings, renderRows) {
  const body = h('tbody');
  const more = h('div', { class: 'more' });
  const load = async (cursor) => {
    const page = await getJson(cursor ? `${path}&cursor=${encodeURIComponent(cursor)}` : path);
    body.append(...(await renderRows(page.items)));
    const button = page.nextCursor ? h('button', { type: 'button', class: 'quiet' }, 'Load more') : null;
    button?.addEventListener('click', async () => {
      button.disabled = true;
      await load(page.nextCursor).catch((err) => more.replaceChildren(problemBox(err)));
    });
    more.replaceChildren(button ?? '');
  };
  await load(null);
  const empty = body.children.length === 0 ? h('p', {}, 'Nothing yet.') : null;
  content.replaceChildren(empty ?? table(headings, body), more);
}

function freshnessText(freshness) {
  if (freshness.state === 'missing') return ' no evidence yet';
  const age = freshness.ageDays === 0 ? 'today' : `${freshness.ageDays} day(s) old`;
  return freshness.dueAt ? ` ${age}, due ${formatDate(freshness.dueAt)}` : ` ${age}, no cadence set`;
}

function controlRow(c) {
  const latest = c.latestEvidence;
  return h(
    'tr',
    { 'data-control-id': c.id },
    h('td', {}, c.code),
    h('td', {}, c.name),
    h('td', {}, c.cadence ?? '—'),
    h('td', { class: 'freshness' }, badge(c.freshness.state), freshnessText(c.freshness)),
    h('td', {}, latest ? [`${formatTime(latest.createdAt)}, ${formatBytes(latest.bytes)} `, sha(latest.sha256), ' ', downloadButton(latest.id)] : '—'),
  );
}

export async function renderControls(content) {
  const { items } = await getJson('/v1/controls');
  const frameworks = new Map();
  for (const control of items) {
    if (!frameworks.has(control.framework)) frameworks.set(control.framework, []);
    frameworks.get(control.framework).push(control);
  }
  const headings = ['Code', 'Control', 'Cadence', 'Freshness', 'Latest evidence'];
  content.replaceChildren(
    ...Array.from(frameworks, ([framework, controls]) =>
      h('section', { class: 'framework' }, h('h3', {}, framework), table(headings, h('tbody', {}, controls.map(controlRow)))),
    ),
  );
}

export async function renderEvidence(content) {
  await pagedTable(content, `/v1/evidence?limit=${PAGE}`, ['Sealed', 'File', 'Format', 'Size', 'SHA-256', 'Controls', ''], async (items) => {
    // The list leaves out attachments; each item's own record has them.
    const details = await Promise.all(items.map((e) => getJson(e.links.self)));
    return details.map((e) =>
      h(
        'tr',
        { 'data-evidence-id': e.id },
        h('td', {}, formatTime(e.createdAt)),
        h('td', {}, e.filename, e.complete ? null : ' (incomplete pull)'),
        h('td', {}, e.format),
        h('td', {}, formatBytes(e.bytes)),
        h('td', {}, sha(e.sha256)),
        h('td', {}, e.attachedTo.controls.length ? e.attachedTo.controls.map(controlName).join(', ') : '—'),
        h('td', {}, downloadButton(e.id)),
      ),
    );
  });
}

export async function renderRuns(content) {
  const fetchers = new Map((await getAll('/v1/fetchers?limit=500')).map((f) => [f.id, f.name]));
  await pagedTable(content, `/v1/runs?limit=${PAGE}`, ['Created', 'Fetcher', 'Trigger', 'Status', 'Hosts', 'Detections', 'Finished', 'Outcome'], async (items) =>
    items.map((r) =>
      h(
        'tr',
        { 'data-run-id': r.id },
        h('td', {}, formatTime(r.createdAt)),
        // Deleted fetchers are no longer listed; their runs still are.
        h('td', {}, fetchers.get(r.fetcherId) ?? r.fetcherId),
        h('td', {}, r.triggeredBy ? `${r.trigger} (${r.triggeredBy})` : r.trigger),
        h('td', {}, badge(r.status)),
        h('td', { class: 'num' }, String(r.progress.hosts)),
        h('td', { class: 'num' }, String(r.progress.detections)),
        h('td', {}, formatTime(r.finishedAt)),
        h('td', {}, r.error ? r.error.message : r.evidenceId ? downloadButton(r.evidenceId) : '—'),
      ),
    ),
  );
}
