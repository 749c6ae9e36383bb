/**
 * Evidence: the list, and one piece of evidence: the verified download, its
 * verification (on the server and in the browser), its completeness, its
 * summary (a severity by status chart), the SLA report, the changes since
 * another pull, the chain of custody, the manifest and the raw Qualys pages.
 */
import { enc, getAll, getJson } from './api.js';
import { severityStatusChart } from './chart.js';
import { custodySection, manifestSection } from './custody.js';
import { diffPart } from './diff.js';
import { downloadButton } from './download.js';
import { badge, controlName, facts, fill, formatBytes, formatTime, h, link, problemBox, screenHead, section, sha, table } from './dom.js';
import { completenessPart, verificationPart } from './evidence-checks.js';
import { busy } from './forms.js';
import { href } from './router.js';
import { slaPart } from './sla.js';

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
      h('td', {}, badge(COMPLETENESS_BADGE[e.completeness] ?? 'missing', e.completeness)),
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

const COMPLETENESS_BADGE = { complete: 'fresh', incomplete: 'stale', unknown: 'due' };

export async function renderEvidenceItem(content, ctx) {
  const evidence = await getJson(`/v1/evidence/${enc(ctx.params.id)}`);
  const m = evidence.manifest ?? {};
  const hld = m.fetcher?.kind !== 'custom';
  const [pages, diff] = await Promise.all([getJson(`/v1/evidence/${enc(evidence.id)}/pages`).then((p) => p.items), hld ? diffPart(evidence) : null]);
  const s = evidence.summary ?? {};
  const contentPath = `/v1/evidence/${enc(evidence.id)}/content`;
  const { controls, requests } = evidence.attachedTo;
  const onlyHld = h('p', { class: 'hint' }, 'Only for Host List Detection evidence: this file is the answer of a custom endpoint.');
  fill(content,
    screenHead(evidence.filename),
    facts([
      ['Collected', `${formatTime(evidence.collectedAt)}${m.run?.backfill ? ' (a backfill: due earlier, collected then)' : ''}`],
      ['Sealed', formatTime(evidence.createdAt)],
      ['Format', `${evidence.format} (${evidence.contentType})`],
      ['Size', `${formatBytes(evidence.bytes)} (${evidence.bytes} bytes)`],
      ['SHA-256', sha(evidence.sha256, true)],
      ['Completeness', [badge(COMPLETENESS_BADGE[evidence.completeness] ?? 'missing', evidence.completeness), ' see Completeness below']],
      ['Run', link(href('runs', evidence.runId), evidence.runId)],
      ['Fetcher', link(href('fetchers', evidence.fetcherId), m.fetcher?.name ?? evidence.fetcherId)],
      ['Started', m.custody?.startedBy ? `${m.custody.startedBy.trigger}${m.custody.startedBy.triggeredBy ? ` by ${m.custody.startedBy.triggeredBy}` : ''}` : m.run ? `${m.run.trigger}${m.run.triggeredBy ? ` by ${m.run.triggeredBy}` : ''}` : null],
    ]),
    section('Download', h('p', { class: 'hint' }, 'The file is checked against its SHA-256 while it downloads and saved only if it matches.'), downloadButton(contentPath, { size: evidence.bytes, expected: evidence.sha256, name: evidence.filename })),
    section('Verification', verificationPart(evidence, pages)),
    section('Completeness', completenessPart(evidence)),
    section(
      'Summary',
      facts([
        ['Hosts', String(s.hosts ?? '—')],
        ['Detections', String(s.detections ?? '—')],
        ['Host IDs', s.minHostId !== undefined && s.minHostId !== null ? `${s.minHostId} to ${s.maxHostId}` : null],
      ]),
      s.matrix ? severityStatusChart(s.matrix) : h('p', { class: 'hint' }, 'No detection counts: this answer is not a Host List Detection list.'),
    ),
    section('SLA report', hld ? slaPart(evidence) : onlyHld),
    section('Changes since another pull', hld ? diff : onlyHld),
    section(
      'Filed under',
      facts([
        ['Controls', controls.length ? controls.map((c, i) => [i ? ', ' : '', link(href('controls', c.id), controlName(c))]) : 'none'],
        ['Audit requests', requests.length ? requests.map((r, i) => [i ? ', ' : '', link(href('requests', r.id), r.title), ` (${r.status})`]) : 'none'],
      ]),
      h('p', { class: 'hint' }, 'File it by hand, or take it off, on the control\'s or the audit request\'s screen.'),
    ),
    custodySection(m),
    manifestSection(m, pages, evidence),
  );
}
