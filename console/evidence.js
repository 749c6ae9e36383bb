/**
 * Evidence: the list, and one piece of evidence with its summary (a severity
 * by status chart), its manifest (pages with hashes, waits, retries, who
 * triggered it), its completeness, a verification run in the browser
 * against the manifest, the verified download, and the raw Qualys pages.
 */
import { enc, getAll, getJson } from './api.js';
import { severityStatusChart } from './chart.js';
import { downloadButton, verifyInBrowser } from './download.js';
import { badge, controlName, facts, fill, formatBytes, formatTime, h, link, problemBox, screenHead, section, sha, table } from './dom.js';
import { busy } from './forms.js';
import { href } from './router.js';

const PAGE = 50;

export async function renderEvidence(content) {
  const fetchers = new Map((await getAll('/v1/fetchers?limit=500')).map((f) => [f.id, f.name]));
  const tbody = h('tbody');
  const more = h('div', { class: 'more' });
  const row = (e) =>
    h(
      'tr',
      { 'data-evidence-id': e.id },
      h('td', {}, link(href('evidence', e.id), formatTime(e.createdAt))),
      h('td', {}, e.filename),
      h('td', {}, fetchers.get(e.fetcherId) ?? e.fetcherId),
      h('td', {}, e.format),
      h('td', { class: 'num' }, formatBytes(e.bytes)),
      h('td', {}, e.complete ? badge('fresh', 'complete') : badge('stale', 'incomplete')),
      h('td', {}, sha(e.sha256)),
    );
  let count = 0;
  const load = async (cursor) => {
    const page = await getJson(`/v1/evidence?limit=${PAGE}${cursor ? `&cursor=${enc(cursor)}` : ''}`);
    tbody.append(...page.items.map(row));
    count += page.items.length;
    const button = page.nextCursor ? h('button', { type: 'button', class: 'quiet' }, 'Load more evidence') : null;
    button?.addEventListener('click', () => busy(button, () => load(page.nextCursor)).catch((err) => fill(more, problemBox(err))));
    fill(more, button ?? '');
  };
  await load(null);
  const t = table(['Sealed', 'File', 'Fetcher', 'Format', 'Size', 'Pull', 'SHA-256'], []);
  t.querySelector('tbody').replaceWith(tbody);
  fill(content,
    screenHead('Evidence'),
    h('p', { class: 'hint' }, 'Every sealed evidence file, newest first. Open one for its manifest, verification and download.'),
    count ? t : h('p', {}, 'No evidence yet: run a fetcher.'),
    more,
  );
}

function completeness(evidence) {
  return evidence.complete
    ? [badge('fresh', 'complete'), ' Qualys said the list was complete: every page was fetched.']
    : [badge('stale', 'incomplete'), ' The pull stopped before Qualys said the list was complete; this file is missing hosts.'];
}

/** Re-hashes the sealed file and every raw page in this browser and compares them with the manifest; nothing is saved. */
function verifier(evidence, pages) {
  const out = h('div', { 'aria-live': 'polite', class: 'verdict' });
  const button = h('button', { type: 'button' }, 'Verify in this browser');
  button.addEventListener('click', () =>
    busy(button, async () => {
      fill(out, 'Hashing the sealed file and every raw page…');
      try {
        const results = [];
        const file = await verifyInBrowser(`/v1/evidence/${enc(evidence.id)}/content`, evidence.sha256);
        results.push(['Sealed file', file]);
        for (const p of pages) results.push([`Page ${p.pageNo}`, await verifyInBrowser(p.links.content, p.sha256)]);
        const bad = results.filter(([, r]) => !r.ok);
        fill(out,
          bad.length === 0
            ? h('p', { class: 'ok' }, badge('fresh', 'verified'), ` The sealed file and all ${pages.length} raw page(s) match the SHA-256 hashes in the manifest.`)
            : h('div', { class: 'problem' }, h('p', {}, `${bad.length} item(s) do not match the manifest:`), h('ul', {}, bad.map(([what, r]) => h('li', {}, `${what}: SHA-256 ${r.sha256}, manifest ${r.expected}`)))),
        );
      } catch (err) {
        fill(out, problemBox(err));
      }
    }),
  );
  return h('div', {}, h('p', { class: 'hint' }, 'Downloads the sealed file and the raw Qualys pages and hashes them here, without saving them, against the hashes the manifest recorded.'), button, out);
}

export async function renderEvidenceItem(content, ctx) {
  const evidence = await getJson(`/v1/evidence/${enc(ctx.params.id)}`);
  const pages = (await getJson(`/v1/evidence/${enc(evidence.id)}/pages`)).items;
  const m = evidence.manifest ?? {};
  const s = evidence.summary ?? {};
  const contentPath = `/v1/evidence/${enc(evidence.id)}/content`;
  const { controls, requests } = evidence.attachedTo;
  fill(content,
    screenHead(evidence.filename),
    facts([
      ['Sealed', formatTime(evidence.createdAt)],
      ['Format', `${evidence.format} (${evidence.contentType})`],
      ['Size', `${formatBytes(evidence.bytes)} (${evidence.bytes} bytes)`],
      ['SHA-256', sha(evidence.sha256, true)],
      ['Completeness', completeness(evidence)],
      ['Run', link(href('runs', evidence.runId), evidence.runId)],
      ['Fetcher', link(href('fetchers', evidence.fetcherId), m.fetcher?.name ?? evidence.fetcherId)],
      ['Triggered', m.run ? `${m.run.trigger}${m.run.triggeredBy ? ` by ${m.run.triggeredBy}` : ''}, ${formatTime(m.run.startedAt)} to ${formatTime(m.run.finishedAt)}` : null],
    ]),
    section('Download', h('p', { class: 'hint' }, 'The file is checked against its SHA-256 while it downloads and saved only if it matches.'), downloadButton(contentPath, { size: evidence.bytes, expected: evidence.sha256, name: evidence.filename })),
    section('Verification', verifier(evidence, pages)),
    section(
      'Summary',
      facts([
        ['Hosts', String(s.hosts ?? '—')],
        ['Detections', String(s.detections ?? '—')],
        ['Host IDs', s.minHostId !== undefined && s.minHostId !== null ? `${s.minHostId} to ${s.maxHostId}` : null],
      ]),
      s.matrix ? severityStatusChart(s.matrix) : h('p', { class: 'hint' }, 'No detection counts: this answer is not a Host List Detection list.'),
    ),
    section(
      'Filed under',
      facts([
        ['Controls', controls.length ? controls.map((c, i) => [i ? ', ' : '', link(href('controls', c.id), controlName(c))]) : 'none'],
        ['Audit requests', requests.length ? requests.map((r, i) => [i ? ', ' : '', link(href('requests', r.id), r.title), ` (${r.status})`]) : 'none'],
      ]),
    ),
    manifestSection(m, pages, evidence),
  );
}

function manifestSection(m, pages, evidence) {
  const q = m.qualys ?? {};
  return section(
    'Manifest',
    facts([
      ['Qualys platform', q.platform ? `${q.platform} (${q.apiBaseUrl})` : q.apiBaseUrl],
      ['API version', q.apiVersion],
      ['Call', q.endpoint ? h('code', {}, `${q.method} ${q.endpoint}`) : null],
      ['Parameters', q.params ? h('pre', { class: 'code' }, JSON.stringify(q.params, null, 2)) : null],
      ['Workflow', m.run?.workflowId],
      ['Retries', String(m.retries ?? 0)],
      ['Waits for Qualys limits', m.waits?.length ? h('ul', {}, m.waits.map((w) => h('li', {}, `${w.seconds} s for the ${w.reason === 'rate_limit' ? 'rate' : 'concurrency'} limit at ${formatTime(w.at)}`))) : 'none'],
    ]),
    h('h3', {}, `Raw Qualys pages (${pages.length})`),
    table(
      ['Page', 'id_min', 'Size', 'SHA-256', 'Qualys DATETIME', 'Attempts', 'Hosts', 'Raw page'],
      pages.map((p) =>
        h(
          'tr',
          {},
          h('td', { class: 'num' }, String(p.pageNo)),
          h('td', { class: 'num' }, p.idMin === null ? '—' : String(p.idMin)),
          h('td', { class: 'num' }, formatBytes(p.bytes)),
          h('td', {}, sha(p.sha256)),
          h('td', {}, p.qualysDatetime ?? '—'),
          h('td', { class: 'num' }, String(p.attempts)),
          h('td', { class: 'num' }, p.hosts === null ? '—' : String(p.hosts)),
          h('td', {}, downloadButton(p.links.content, { size: p.bytes, expected: p.sha256, name: `${evidence.filename} page ${p.pageNo}` })),
        ),
      ),
    ),
  );
}
