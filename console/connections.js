/* global queueMicrotask, setInterval, clearInterval */
/**
 * Connections (administrators): each Qualys connection with its status as
 * the last check found it and its call budget in use now (read again every
 * few seconds), and "Connect Qualys": the platform or a private cloud URL,
 * the API user, the check with Qualys before saving, rotation, re-checks
 * and Disconnect.
 */
import { enc, getAll, getJson, sendJson } from './api.js';
import { badge, facts, fill, formatTime, h, plural, problemBox, screenHead } from './dom.js';
import { busy, confirmAction, errorSlots, field, input, select } from './forms.js';
import { API_VERSIONS, PLATFORMS } from './platforms.js';
import { href } from './router.js';

const PRIVATE = 'private';
/** How often the call budgets on show are read again. */
const BUDGET_REFRESH_MS = 5000;

function limitsText(limits) {
  if (!limits) return null;
  const parts = [];
  if (limits.rateLimit !== null) parts.push(`${limits.rateLimit} calls per ${limits.rateWindowSec ?? '?'} s (${limits.rateRemaining ?? '?'} left at the check)`);
  if (limits.concurrencyLimit !== null) parts.push(`${limits.concurrencyLimit} at once`);
  return parts.length ? parts.join(', ') : null;
}

function serverText(c) {
  return c.platform ? `${c.platform} (${c.apiBaseUrl})` : c.apiBaseUrl;
}

export async function renderConnections(content, ctx) {
  const connections = await getAll('/v1/connections?limit=100');
  const reload = ctx.reload;
  const live = connections.filter((c) => c.status !== 'disconnected');
  const budgets = new Map(live.map((c) => [c.id, h('div', { class: 'budget', 'data-budget-of': c.id })]));
  const drawBudgets = () =>
    Promise.all(
      live.map(async (c) => {
        try {
          fill(budgets.get(c.id), budgetView(await getJson(`/v1/connections/${enc(c.id)}/limits`)));
        } catch (err) {
          fill(budgets.get(c.id), problemBox(err));
        }
      }),
    );
  await drawBudgets();
  if (live.length) {
    const timer = setInterval(() => void (ctx.current() && drawBudgets()), BUDGET_REFRESH_MS);
    ctx.onLeave(() => clearInterval(timer));
  }
  const list = connections.length
    ? h('div', { class: 'cards' }, connections.map((c) => connectionCard(c, reload, budgets.get(c.id) ?? null)))
    : h('p', {}, 'No Qualys connection yet. Connect one below: the connector needs it to fetch anything.');
  const startOpen = connections.length === 0 || ctx.query.get('new') === '1';
  fill(content,
    screenHead('Connections'),
    list,
    connectForm(reload, startOpen),
  );
}

/**
 * The subscription's shared call budget as the connector uses it now: every
 * run and worker on this API server and user takes its slots.
 */
function budgetView(b) {
  const k = b.concurrency;
  const r = b.rate;
  return [
    h('h3', {}, 'Call budget now'),
    facts(
      [
        ['Calls running', `${k.inUse} of ${k.slots} slot${k.slots === 1 ? '' : 's'}`],
        ['Waiting for a slot', String(k.waiting)],
        ['Qualys concurrency limit', k.limit === null ? 'not reported yet (one slot until a run sees it)' : `${k.limit}, of which ${k.reserve} kept for other tools`],
        ['Rate', r.limit === null ? 'not reported yet' : `${r.remaining ?? '?'} of ${r.limit} calls left in the ${r.windowSec ?? '?'} s window${r.observedAt ? ` (as of ${formatTime(r.observedAt)})` : ''}`],
      ],
      'facts counts',
    ),
  ];
}

function connectionCard(c, reload, budget) {
  const disconnected = c.status === 'disconnected';
  const area = h('div', { class: 'card-action', 'aria-live': 'polite' });
  const act = (label, work, cls = '') => {
    const button = h('button', { type: 'button', class: cls }, label);
    button.addEventListener('click', () => busy(button, work).catch((err) => fill(area, problemBox(err))));
    return button;
  };
  const checkNow = act('Check now', async () => {
    fill(area, 'Asking Qualys…');
    const checked = await sendJson('POST', `/v1/connections/${enc(c.id)}/check`);
    fill(area, checked.status === 'valid' ? 'Qualys accepted the stored credentials.' : `Qualys refused them: ${checked.statusReason}`);
    reload();
  });
  const rotate = act(disconnected ? 'Reconnect' : 'Rotate password', async () => fill(area, credentialsForm(c, reload, area)));
  const disconnect = act(
    'Disconnect',
    async () => {
      const fetchers = await getAll(`/v1/fetchers?limit=500&connectionId=${enc(c.id)}`);
      const ok = await confirmAction({
        title: `Disconnect ${c.name}?`,
        body: [
          `The stored password is erased. ${plural(fetchers.length, 'fetcher')} of this connection ${fetchers.length === 1 ? 'is' : 'are'} disabled and their schedules paused, so nothing calls Qualys with it any more.`,
          'Past runs and evidence are kept. To use the connection again, reconnect it with its username and password; its fetchers stay disabled until you enable them.',
        ],
        confirm: 'Disconnect',
      });
      if (!ok) return;
      await sendJson('DELETE', `/v1/connections/${enc(c.id)}`);
      reload();
    },
    'danger',
  );
  return h(
    'article',
    { class: 'card', 'data-connection-id': c.id },
    h('h2', {}, c.name),
    facts([
      ['Status', [badge(c.status === 'valid' ? 'fresh' : c.status === 'invalid' ? 'failed' : 'missing', c.status), c.statusReason ? ` ${c.statusReason}` : '']],
      ['Last check', formatTime(c.lastCheckedAt)],
      ['API server', serverText(c)],
      ['API version', c.apiVersion],
      ['Username', c.username],
      ['Proxy', c.proxyUrl],
      ['Limits at the last check', limitsText(c.limits)],
    ]),
    budget,
    h(
      'div',
      { class: 'actions' },
      disconnected ? null : h('a', { class: 'button', href: `${href('fetchers', 'new')}?connection=${enc(c.id)}` }, '+ Add new fetcher'),
      disconnected ? null : checkNow,
      rotate,
      disconnected ? null : disconnect,
    ),
    area,
  );
}

/** Rotation (a new password) or reconnection (username and password again): checked by Qualys before it is saved. */
function credentialsForm(c, reload, area) {
  const disconnected = c.status === 'disconnected';
  const username = field('Qualys username', input({ value: c.username, autocomplete: 'off' }));
  const password = field(disconnected ? 'Qualys password' : 'New Qualys password', input({ type: 'password', autocomplete: 'new-password' }));
  const summary = h('div', { 'aria-live': 'polite' });
  const errors = errorSlots(summary, { username, password });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Check and save');
  const form = h('form', { class: 'inline-form' }, disconnected ? username : null, password, save, summary);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(save, async () => {
      errors.clear();
      fill(summary, 'Asking Qualys…');
      try {
        const body = { password: password.control.value };
        if (disconnected) body.username = username.control.value;
        await sendJson('PATCH', `/v1/connections/${enc(c.id)}`, body);
        fill(area, 'Saved: Qualys accepted the credentials.');
        reload();
      } catch (err) {
        errors.show(err);
      }
    });
  });
  queueMicrotask(() => (disconnected ? username : password).control.focus());
  return form;
}

function connectForm(reload, open) {
  const name = field('Connection name', input({ autocomplete: 'off' }), 'How people recognise this connection, e.g. "Qualys production (US2)".');
  const platformOptions = [
    ...Object.entries(PLATFORMS).map(([p, url]) => [p, `${p}: ${url}`]),
    [PRIVATE, 'Private cloud platform: enter its URL'],
  ];
  const platform = field(
    'Qualys platform',
    select(platformOptions, 'US1'),
    'Where your Qualys account lives: the API server URL that came with the account. Your Qualys administrator knows it.',
  );
  const url = field('Qualys API server URL', input({ type: 'url', placeholder: 'https://qualysapi.example.com', autocomplete: 'off' }), 'The https:// address of your private cloud platform\'s API server.');
  url.hidden = true;
  const privateNote = h(
    'p',
    { class: 'note', hidden: true },
    'Private cloud platforms accept calls only from listed addresses: ask your Qualys administrator to allow-list (whitelist) the IP addresses this connector sends from — or those of the proxy below — for inbound and outbound traffic through your firewall.',
  );
  platform.control.addEventListener('change', () => {
    const isPrivate = platform.control.value === PRIVATE;
    url.hidden = !isPrivate;
    privateNote.hidden = !isPrivate;
  });
  const username = field('Qualys username', input({ autocomplete: 'off', spellcheck: 'false' }));
  const password = field('Qualys password', input({ type: 'password', autocomplete: 'new-password' }), 'Stored encrypted; never shown again, not even to administrators.');
  const proxy = field('Proxy (optional)', input({ type: 'url', placeholder: 'http://proxy.internal:3128', autocomplete: 'off' }), 'An HTTP(S) proxy for calls to Qualys, e.g. one whose address Qualys has allow-listed.');
  const version = field(
    'Qualys API version',
    select(API_VERSIONS.map((v) => [v, v === '5.0' ? '5.0 (current)' : `${v} (end of support at Qualys)`]), '5.0'),
    'Host List Detection API version. Running-kernel option 4 exists only on 2.0.',
  );
  const roleNote = h(
    'p',
    { class: 'note' },
    'The Qualys API user must have the "Scanner" role or higher (Reader may read scan data too) and API access enabled: this is set up once with your organisation\'s Qualys administrator.',
  );
  const summary = h('div', { 'aria-live': 'polite' });
  const result = h('div', { class: 'check-result', 'aria-live': 'polite' });
  const errors = errorSlots(summary, { name, platform, apiBaseUrl: url, username, password, proxyUrl: proxy, apiVersion: version });
  const body = (withName) => {
    const b = {
      username: username.control.value,
      password: password.control.value,
      apiVersion: version.control.value,
    };
    if (withName) b.name = name.control.value;
    if (platform.control.value === PRIVATE) b.apiBaseUrl = url.control.value;
    else b.platform = platform.control.value;
    if (proxy.control.value.trim()) b.proxyUrl = proxy.control.value.trim();
    return b;
  };
  const check = h('button', { type: 'button' }, 'Check connection');
  const save = h('button', { type: 'submit', class: 'primary' }, 'Next: save the connection');
  check.addEventListener('click', () =>
    busy(check, async () => {
      errors.clear();
      fill(result, 'Asking Qualys…');
      try {
        const ok = await sendJson('POST', '/v1/connections/check', body(false));
        fill(result,
          h('p', { class: 'ok' }, `Qualys accepted ${ok.username} on ${ok.apiBaseUrl} (API ${ok.apiVersion}). Nothing is saved yet.`),
          limitsText(ok.limits) ? h('p', {}, `Account limits: ${limitsText(ok.limits)}.`) : null,
        );
      } catch (err) {
        fill(result);
        errors.show(err);
      }
    }),
  );
  const form = h(
    'form',
    { class: 'stack', id: 'connect-form', novalidate: true },
    roleNote,
    name,
    platform,
    url,
    privateNote,
    username,
    password,
    proxy,
    version,
    h('div', { class: 'actions' }, check, save),
    result,
    summary,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(save, async () => {
      errors.clear();
      fill(result, 'Asking Qualys, then saving…');
      try {
        await sendJson('POST', '/v1/connections', body(true));
        reload();
      } catch (err) {
        fill(result);
        errors.show(err);
      }
    });
  });
  const details = h('details', { class: 'connect', open }, h('summary', {}, h('h2', { class: 'inline' }, 'Connect Qualys')), form);
  return details;
}
