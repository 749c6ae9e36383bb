/* global setTimeout, clearTimeout, setInterval, clearInterval */
/**
 * Runs: the list, and one run followed live (step, pages, hosts,
 * detections, bytes, host ID ranges, calls waiting for a slot of the
 * subscription's budget, waits for Qualys limits with a countdown, retries
 * and the attempt being retried, the last error), with Cancel and a link to
 * the run in the Temporal UI.
 */
import { ApiProblem, enc, getAll, getJson, sendJson } from './api.js';
import { downloadButton } from './download.js';
import { badge, facts, fill, formatBytes, formatTime, h, link, plural, problemBox, screenHead, table } from './dom.js';
import { busy, confirmAction } from './forms.js';
import { href } from './router.js';

const POLL_MS = 1000;
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
export const STEPS = {
  queued: 'waiting for a worker',
  prepare: 'preparing',
  check_connection: 'checking the Qualys connection',
  pull_pages: 'pulling pages from Qualys',
  seal: 'sealing the evidence file',
  attach: 'filing the evidence under controls and requests',
  notify: 'announcing the result to webhooks',
  done: 'done',
};

const STATUS_BADGE = { succeeded: 'succeeded', failed: 'failed', cancelled: 'cancelled', running: 'running', queued: 'queued' };

/** A table of runs with "Load more" while the API has more. */
export async function runsTable(path, { fetcherNames = new Map() } = {}) {
  const body = [];
  const wrap = h('div');
  const more = h('div', { class: 'more' });
  const row = (r) =>
    h(
      'tr',
      { 'data-run-id': r.id },
      h('td', {}, link(href('runs', r.id), formatTime(r.createdAt))),
      h('td', {}, fetcherNames.get(r.fetcherId) ?? r.fetcherId),
      h('td', {}, r.triggeredBy ? `${r.trigger} (${r.triggeredBy})` : r.trigger),
      h('td', {}, badge(STATUS_BADGE[r.status] ?? r.status, r.status)),
      h('td', { class: 'num' }, String(r.progress.hosts)),
      h('td', { class: 'num' }, String(r.progress.detections)),
      h('td', {}, r.evidenceId ? link(href('evidence', r.evidenceId), 'Evidence') : r.error ? r.error.message : '—'),
    );
  const tbody = h('tbody');
  const load = async (cursor) => {
    const page = await getJson(cursor ? `${path}&cursor=${enc(cursor)}` : path);
    tbody.append(...page.items.map(row));
    body.push(...page.items);
    const button = page.nextCursor ? h('button', { type: 'button', class: 'quiet' }, 'Load more runs') : null;
    button?.addEventListener('click', () => busy(button, () => load(page.nextCursor)).catch((err) => fill(more, problemBox(err))));
    fill(more, button ?? '');
  };
  await load(null);
  if (body.length === 0) return h('p', {}, 'No runs yet.');
  const t = table(['Started', 'Fetcher', 'Trigger', 'Status', 'Hosts', 'Detections', 'Outcome'], []);
  t.querySelector('tbody').replaceWith(tbody);
  wrap.append(t, more);
  return wrap;
}

export async function renderRuns(content) {
  const fetchers = new Map((await getAll('/v1/fetchers?limit=500')).map((f) => [f.id, f.name]));
  fill(content, screenHead('Runs'), await runsTable('/v1/runs?limit=50', { fetcherNames: fetchers }));
}

/** The attempt that failed last while the run goes on: where, which attempt, why. */
function retrying(current) {
  const where = [current.rangeNo !== null ? `range ${current.rangeNo}` : null, current.pageNo !== null ? `page ${current.pageNo}` : null, STEPS[current.step] ?? current.step]
    .filter(Boolean)
    .join(', ');
  return `${where}: attempt ${current.attempt} failed (${current.error}); trying again`;
}

const sleep = (ms, ctx) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    ctx.onLeave(() => clearTimeout(timer));
  });

export async function renderRun(content, ctx) {
  let run = await getJson(`/v1/runs/${enc(ctx.params.id)}`);
  // A finished run's evidence is read alongside its fetcher (deleted fetchers are no longer served).
  const evidenceOf = (r) => (r.status === 'succeeded' && r.evidenceId ? getJson(`/v1/evidence/${enc(r.evidenceId)}`) : null);
  const [fetcher, firstEvidence] = await Promise.all([getJson(`/v1/fetchers/${enc(run.fetcherId)}`).catch(() => null), evidenceOf(run)]);
  const live = h('div', { class: 'run-live' });
  const countdown = h('span', { class: 'countdown' });
  const status = h('p', { role: 'status', class: 'run-status' });
  const area = h('div', { 'aria-live': 'polite' });
  const cancel = h('button', { type: 'button', class: 'danger' }, 'Cancel run');
  cancel.addEventListener('click', () =>
    busy(cancel, async () => {
      const ok = await confirmAction({ title: 'Cancel this run?', body: 'The request to Qualys in flight is aborted; no evidence is sealed from this run.', confirm: 'Cancel run' });
      if (!ok) return;
      run = await sendJson('POST', `/v1/runs/${enc(run.id)}/cancel`);
      draw();
    }).catch((err) => fill(area, problemBox(err))),
  );
  const temporal = run.links.temporalUi ? h('a', { href: run.links.temporalUi, target: '_blank', rel: 'noopener noreferrer' }, 'Open this run in the Temporal UI') : null;
  const tick = setInterval(() => drawCountdown(), 1000);
  ctx.onLeave(() => clearInterval(tick));

  function drawCountdown() {
    const waiting = run.progress.waiting;
    if (!waiting || FINAL.has(run.status)) {
      countdown.textContent = '';
      return;
    }
    const left = Math.max(0, Math.ceil((Date.parse(waiting.until) - Date.now()) / 1000));
    countdown.textContent = `Waiting for Qualys's ${waiting.reason === 'rate_limit' ? 'rate limit' : 'concurrency limit'}: ${left} s left (until ${formatTime(waiting.until)}).`;
  }

  let lastStatus = null;
  function draw() {
    const p = run.progress;
    const final = FINAL.has(run.status);
    // Announced only when the status or step changes, not on every count.
    const said = `${run.status}${run.step && !final ? `: ${STEPS[run.step] ?? run.step}` : ''}`;
    if (said !== lastStatus) {
      fill(status, 'Status: ', badge(STATUS_BADGE[run.status] ?? run.status, run.status), run.step && !final ? ` ${STEPS[run.step] ?? run.step}` : '');
      lastStatus = said;
    }
    cancel.hidden = final;
    fill(live,
      facts(
        [
          ['Pages', String(p.pages)],
          ['Hosts', String(p.hosts)],
          ['Detections', String(p.detections)],
          ['Bytes', formatBytes(p.bytes)],
          ['Waits for Qualys limits', p.waits ? `${plural(p.waits, 'wait')}, ${p.waitedSeconds} s in all` : 'none'],
          ['Waiting for a call slot', final ? null : p.waitingForSlot ? `${plural(p.waitingForSlot, 'call')} queued for the subscription's shared budget (see the connection's call budget)` : 'none'],
          ['Host ID ranges', p.ranges ? `${p.ranges.done} of ${p.ranges.total} done, ${p.ranges.inFlight} being pulled, ${p.ranges.waiting} not started` : null],
          ['Retries', String(p.retries)],
          ['Retrying now', p.current && !final ? retrying(p.current) : null],
          ['Last error', p.lastError && !p.current && !final ? `${p.lastError} (retrying)` : null],
          ['Trigger', run.triggeredBy ? `${run.trigger} by ${run.triggeredBy}` : run.trigger],
          ['Due (scheduled for)', run.scheduledFor ? formatTime(run.scheduledFor) : null],
          ['Started', formatTime(run.startedAt ?? run.createdAt)],
          ['Finished', run.finishedAt ? formatTime(run.finishedAt) : null],
          ['Data collected', run.collectedAt ? formatTime(run.collectedAt) : null],
        ],
        'facts counts',
      ),
      run.error
        ? h('p', { class: 'problem' }, `${run.status === 'cancelled' ? 'Cancelled' : 'Failed'}: ${run.error.message}`, run.error.qualysCode ? ` (Qualys code ${run.error.qualysCode})` : '')
        : null,
    );
    drawCountdown();
  }

  const outcome = h('div');
  fill(content,
    screenHead(`Run of ${fetcher?.name ?? run.fetcherId}`, cancel),
    h('p', { class: 'hint' }, `Run ${run.id}`, fetcher ? [' of ', link(href('fetchers', fetcher.id), fetcher.name)] : ''),
    status,
    countdown,
    live,
    temporal ? h('p', {}, temporal) : null,
    area,
    outcome,
  );
  draw();

  const finish = async (known = null) => {
    const evidence = known ?? (await evidenceOf(run));
    if (!evidence) return;
    fill(outcome,
      h('h2', {}, 'Evidence'),
      h('p', {}, link(href('evidence', evidence.id), evidence.filename), ` (${evidence.format}, ${formatBytes(evidence.bytes)})`, evidence.complete ? '' : ', an INCOMPLETE pull'),
      downloadButton(`/v1/evidence/${enc(evidence.id)}/content`, { size: evidence.bytes, expected: evidence.sha256, name: evidence.filename }),
      h('p', {}, 'Filed under controls: ', evidence.attachedTo.controls.length ? evidence.attachedTo.controls.map((c) => `${c.framework} ${c.code}`).join(', ') : 'none'),
      h('p', {}, 'Filed under audit requests: ', evidence.attachedTo.requests.length ? evidence.attachedTo.requests.map((r) => r.title).join(', ') : 'none'),
    );
  };

  if (FINAL.has(run.status)) {
    await finish(firstEvidence);
    return;
  }
  // Follows the run after the screen is shown; stops when the user leaves it.
  void (async () => {
    while (ctx.current() && !FINAL.has(run.status)) {
      await sleep(POLL_MS, ctx);
      if (!ctx.current()) return;
      try {
        run = await getJson(`/v1/runs/${enc(run.id)}`);
        fill(area);
      } catch (err) {
        // A dropped connection is worth waiting out; anything the API refused is not.
        if (!(err instanceof ApiProblem) || err.status !== 0) {
          fill(area, problemBox(err));
          return;
        }
        fill(area, h('p', { class: 'problem' }, `Lost contact with the API (${err.message}); retrying…`));
      }
      draw();
    }
    if (ctx.current()) await finish().catch((err) => fill(area, problemBox(err)));
  })();

}
