/* global setTimeout */
/**
 * The Fetchers screen: every fetcher with a Run button, and each started run
 * followed live until it ends, with its evidence to download.
 */
import { ApiProblem, getAll, getJson, newIdempotencyKey, postJson } from './api.js';
import { badge, controlName, downloadButton, formatBytes, formatTime, h, problemBox } from './dom.js';

const POLL_MS = 1000;
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const STEPS = {
  prepare: 'preparing',
  check_connection: 'checking the Qualys connection',
  pull_pages: 'pulling pages from Qualys',
  seal: 'sealing the evidence file',
  attach: 'filing the evidence under controls and requests',
  done: 'done',
};

/**
 * Per fetcher: the area showing its latest run, kept across re-renders so a
 * refresh or a change of screen does not lose a run being watched.
 */
const runAreas = new Map();
/** A key whose POST got no answer is reused on the next click, so a lost reply cannot start a second run. */
const unansweredKeys = new Map();

function runArea(fetcherId) {
  if (!runAreas.has(fetcherId)) {
    runAreas.set(fetcherId, { element: h('div', { class: 'run', role: 'status', 'aria-live': 'polite' }), active: false, button: null });
  }
  return runAreas.get(fetcherId);
}

/** Forgets every run shown, on sign-out: nothing of the last user stays on the page. */
export function forgetRuns() {
  runAreas.clear();
  unansweredKeys.clear();
}

export async function renderFetchers(content) {
  const [fetchers, connections] = await Promise.all([getAll('/v1/fetchers?limit=500'), getAll('/v1/connections?limit=500')]);
  const connectionNames = new Map(connections.map((c) => [c.id, c.name]));
  if (fetchers.length === 0) {
    content.replaceChildren(h('p', {}, 'No fetchers yet. An administrator defines them through the API.'));
    return;
  }
  content.replaceChildren(h('div', { class: 'cards' }, fetchers.map((f) => fetcherCard(f, connectionNames.get(f.connectionId) ?? f.connectionId))));
}

function fetcherCard(fetcher, connectionName) {
  const area = runArea(fetcher.id);
  const runButton = h('button', { type: 'button', class: 'primary', disabled: area.active || !fetcher.enabled }, 'Run');
  runButton.addEventListener('click', () => startRun(fetcher, area));
  area.button = runButton;
  return h(
    'article',
    { class: 'card fetcher', 'data-fetcher-id': fetcher.id },
    h('h3', {}, fetcher.name, fetcher.enabled ? null : ' (disabled)'),
    h(
      'dl',
      {},
      h('dt', {}, 'Kind'),
      h('dd', {}, fetcher.kind === 'host_list_detection' ? 'Host List Detection' : 'Custom request'),
      h('dt', {}, 'Connection'),
      h('dd', {}, connectionName),
      h('dt', {}, 'Format'),
      h('dd', {}, fetcher.format),
      h('dt', {}, 'Controls'),
      h('dd', {}, fetcher.controls.length ? fetcher.controls.map(controlName).join(', ') : 'none mapped'),
    ),
    fetcher.configProblem ? h('p', { class: 'problem' }, `This fetcher cannot run as defined: ${fetcher.configProblem}`) : null,
    runButton,
    area.element,
  );
}

async function startRun(fetcher, area) {
  // Disabled at once, so a double click lands on a disabled button.
  area.button.disabled = true;
  area.active = true;
  area.element.replaceChildren('Starting a run…');
  const key = unansweredKeys.get(fetcher.id) ?? newIdempotencyKey();
  unansweredKeys.set(fetcher.id, key);
  let run = null;
  try {
    try {
      run = await postJson(`/v1/fetchers/${encodeURIComponent(fetcher.id)}/runs`, { 'idempotency-key': key });
    } finally {
      // Any answer at all, even a refusal, means the server has seen this key.
      unansweredKeys.delete(fetcher.id);
    }
    await watchRun(run, area.element);
  } catch (err) {
    if (err instanceof ApiProblem && err.status === 0 && !run) unansweredKeys.set(fetcher.id, key);
    // Once a run is shown, its last known progress stays visible above the problem.
    if (run) area.element.append(problemBox(err));
    else area.element.replaceChildren(problemBox(err));
  } finally {
    area.active = false;
    // The screen may have been re-rendered meanwhile: re-enable the button now on the page.
    area.button.disabled = !fetcher.enabled;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function watchRun(first, element) {
  let run = first;
  for (;;) {
    element.replaceChildren(...runProgress(run).filter(Boolean));
    if (FINAL.has(run.status)) break;
    await sleep(POLL_MS);
    try {
      run = await getJson(run.links.self);
    } catch (err) {
      // A dropped connection is worth waiting out; anything the API refused is not.
      if (!(err instanceof ApiProblem) || err.status !== 0) throw err;
      element.append(h('p', { class: 'problem' }, `Lost contact with the API (${err.message}); retrying…`));
    }
  }
  if (run.status === 'succeeded' && run.evidenceId) element.append(await evidenceOfRun(run.evidenceId));
}

function runProgress(run) {
  const p = run.progress;
  const head = h('p', {}, `Run ${run.id}: `, badge(run.status), run.step && !FINAL.has(run.status) ? ` ${STEPS[run.step] ?? run.step}` : null);
  const counts = h(
    'p',
    { class: 'counts' },
    `${p.pages} page(s), ${p.hosts} host(s), ${p.detections} detection(s), ${formatBytes(p.bytes)}`,
    p.retries ? `, ${p.retries} retr${p.retries === 1 ? 'y' : 'ies'}` : null,
  );
  const waits = p.waits
    ? h('p', {}, `Waited ${p.waits} time(s) for Qualys limits, ${p.waitedSeconds} s in all.`)
    : null;
  const waiting = p.waiting
    ? h('p', {}, `Waiting ${Math.round(p.waiting.seconds)} s because Qualys asked to (${p.waiting.reason.replace('_', ' ')}), until ${formatTime(p.waiting.until)}.`)
    : null;
  const lastError = p.lastError && run.status === 'running' ? h('p', {}, `Last error (retrying): ${p.lastError}`) : null;
  const failure = run.error
    ? h('p', { class: 'problem' }, `${run.status === 'cancelled' ? 'Cancelled' : 'Failed'}: ${run.error.message}`, run.error.qualysCode ? ` (Qualys code ${run.error.qualysCode})` : null)
    : null;
  return [head, counts, waits, waiting, lastError, failure];
}

async function evidenceOfRun(evidenceId) {
  const evidence = await getJson(`/v1/evidence/${encodeURIComponent(evidenceId)}`);
  const { controls, requests } = evidence.attachedTo;
  return h(
    'div',
    { class: 'evidence-result' },
    h('p', {}, `Evidence ${evidence.filename} (${evidence.format}, ${formatBytes(evidence.bytes)})`, evidence.complete ? null : ', INCOMPLETE pull'),
    downloadButton(evidence.id),
    h('p', {}, 'Filed under controls: ', controls.length ? controls.map(controlName).join(', ') : 'none'),
    h('p', {}, 'Filed under audit requests: ', requests.length ? requests.map((r) => `${r.title} (${r.status})`).join(', ') : 'none'),
  );
}
