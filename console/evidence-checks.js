/* global performance */
/**
 * What vouches for a piece of evidence: the server's verification (the seal
 * re-performed from the raw pages, each check by name), the same hashes
 * checked again in this browser, and the completeness verdict with its
 * checks and the reconciliation with Qualys's host ID list.
 */
import { enc, getJson } from './api.js';
import { verifyInBrowser } from './download.js';
import { badge, facts, fill, h, problemBox, sha, table } from './dom.js';
import { busy } from './forms.js';

const VERDICT_BADGE = { verified: 'fresh', complete: 'fresh', failed: 'failed', incomplete: 'failed', partial: 'due', unknown: 'due' };

/** What each of the server's checks re-performs (README, "For auditors"). */
const CHECK_NAMES = {
  manifest: 'The manifest is valid',
  'manifest-sha256': 'The manifest is the one sealed',
  'evidence-record': 'The database names the same file',
  'page-sha256': 'Every raw page hashes to the manifest',
  'page-chain': 'No page skipped, cursors chained',
  counts: 'Hosts and detections re-counted',
  'sealed-file-rederived': 'The pages sealed again give the file byte for byte',
  'sealed-file-sha256': 'The sealed file hashes to the manifest',
};

/** The completeness checks (audit/completeness.ts). */
const COMPLETENESS_CHECKS = {
  'no-truncation': 'The last page has no truncation notice',
  'page-numbers': 'No page number skipped',
  'cursor-chain': 'Each page continues where the one before stopped',
  'host-id-list': "Reconciled with Qualys's host ID list",
};

function outcome(ok) {
  if (ok === true) return badge('fresh', 'passed');
  if (ok === false) return badge('failed', 'failed');
  return badge('missing', 'not performed');
}

/** A table of named checks as the API reports them: { name, ok, detail }. */
export function checksTable(checks, label, names = {}) {
  return table(
    ['Check', 'Result', 'Detail'],
    checks.map((c) =>
      h('tr', { 'data-check': c.name }, h('th', { scope: 'row' }, names[c.name] ? [names[c.name], h('br'), h('code', {}, c.name)] : h('code', {}, c.name)), h('td', {}, outcome(c.ok)), h('td', {}, c.detail)),
    ),
    { class: 'checks' },
    label,
  );
}

function serverVerdict(report, evidence) {
  const passed = report.checks.filter((c) => c.ok === true).length;
  const words = {
    verified: 'the file is exactly what the raw Qualys pages give when sealed again.',
    failed: 'at least one check failed; the detail names the place.',
    partial: 'no check failed, but some could not be performed; the detail says why.',
  };
  return h(
    'div',
    { class: 'server-verdict' },
    h('p', {}, badge(VERDICT_BADGE[report.verdict], report.verdict), ` ${passed} of ${report.checks.length} checks passed: ${words[report.verdict]}`),
    facts([
      ['SHA-256 read now', report.sha256 ? [sha(report.sha256, true), report.sha256 === evidence.sha256 ? ' (as sealed)' : ' (NOT the sealed hash)'] : null],
      ['Hosts re-counted', report.hosts === null ? null : String(report.hosts)],
      ['Detections re-counted', report.detections === null ? null : String(report.detections)],
      ['Manifest version', report.manifestVersion === null ? null : String(report.manifestVersion)],
    ]),
    checkDetails(report.checks, 'Checks the server re-performed', CHECK_NAMES),
  );
}

/** The checks one click away while they all passed, open as soon as one did not. */
function checkDetails(checks, label, names) {
  const allPassed = checks.every((c) => c.ok === true);
  return h('details', { class: 'checks', open: !allPassed }, h('summary', {}, `The ${checks.length} checks, each with its detail`), checksTable(checks, label, names));
}

/** Asks the server to re-perform the seal; it reads every file, so it runs when asked. */
function serverVerifier(evidence) {
  const out = h('div', { 'aria-live': 'polite', class: 'verdict server' });
  const button = h('button', { type: 'button', class: 'primary' }, 'Verify on the server');
  button.addEventListener('click', () =>
    busy(button, async () => {
      fill(out, 'Re-performing the seal from the raw pages on the server…');
      const started = performance.now();
      try {
        fill(out, serverVerdict(await getJson(`/v1/evidence/${enc(evidence.id)}/verification`), evidence));
        performance.measure('part:verification', { start: started, end: performance.now() });
      } catch (err) {
        fill(out, problemBox(err));
      }
    }),
  );
  return h(
    'div',
    {},
    h('p', { class: 'hint' }, 'The server re-hashes the sealed file and every raw page, seals the pages again and compares byte for byte, re-counts hosts and detections, and checks the manifest against the copy kept at sealing. It reads every file, so it takes about as long as a download.'),
    button,
    out,
  );
}

/** Re-hashes the sealed file and every raw page in this browser and compares them with the manifest; nothing is saved. */
function browserVerifier(evidence, pages) {
  const out = h('div', { 'aria-live': 'polite', class: 'verdict browser' });
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
  return h(
    'div',
    {},
    h('p', { class: 'hint' }, 'Or check it yourself: this browser downloads the sealed file and the raw Qualys pages and hashes them, without saving them, against the hashes the manifest recorded.'),
    button,
    out,
  );
}

export function verificationPart(evidence, pages) {
  return h('div', {}, serverVerifier(evidence), browserVerifier(evidence, pages));
}

function confirmation(c) {
  if (!c) return null;
  if ('notPerformed' in c) return `not performed: ${c.notPerformed}`;
  const found = c.hostsWithMatchingDetections;
  return `${c.calls} Host List Detection call(s) for exactly the listed hosts missing from the evidence, with the run's own filters: ${found === 0 ? 'no host came back, so none was left out' : `${found} host(s) came back with matching detections (first ids ${c.firstHostIds.join(', ')})`}`;
}

function reconciliationFacts(r) {
  const ids = (list) => (list.length ? list.join(', ') : null);
  return facts([
    ['Host ID list', `taken from Qualys at ${r.listedAt.slice(0, 19).replace('T', ' ')} UTC with ${Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join('&') || 'no filters'}`],
    ['Listed by Qualys', String(r.listed)],
    ['In the evidence', String(r.inEvidence)],
    ['In both', String(r.matched)],
    ['Listed, not in the evidence', String(r.absent)],
    ['In the evidence, not listed', String(r.extra)],
    ['Absent hosts confirmed', confirmation(r.absentConfirmation)],
    ['Detection filters', r.detectionFilters.length ? `${r.detectionFilters.join(', ')} (Host List Detection leaves out hosts without a matching detection)` : null],
    ['Sample of absent host ids', ids(r.sample.absent)],
    ['Sample of unlisted host ids', ids(r.sample.extra)],
  ]);
}

/** The manifest's completeness (version 2), or the older complete flag. */
export function completenessPart(evidence) {
  const c = evidence.manifest?.completeness;
  if (!c) {
    return evidence.complete
      ? h('p', {}, badge('fresh', 'complete'), ' Qualys said the list was complete: every page was fetched (a version 1 manifest: no host ID reconciliation).')
      : h('p', {}, badge('stale', 'incomplete'), ' The pull stopped before Qualys said the list was complete; this file is missing hosts.');
  }
  const words = {
    complete: 'the page chain is whole and every host Qualys listed for the run\'s filters is accounted for.',
    incomplete: 'hosts or pages are missing.',
    unknown: 'the page chain is sound, but no host ID list could confirm it.',
  };
  return h(
    'div',
    { class: 'completeness' },
    h('p', {}, badge(VERDICT_BADGE[c.verdict], c.verdict), ` ${words[c.verdict]}`, c.reason ? ` ${c.reason}` : ''),
    checkDetails(c.checks, 'Completeness checks', COMPLETENESS_CHECKS),
    c.reconciliation ? [h('h3', {}, 'Reconciliation with Qualys\'s host list'), reconciliationFacts(c.reconciliation)] : h('p', { class: 'hint' }, 'No reconciliation: the run took no host ID list (custom endpoints, or filters the host list cannot repeat).'),
  );
}
