/**
 * The Fetchers screen: every fetcher with what it fetches and where it files
 * the evidence, "+ Add new fetcher" for administrators, and Run for everyone.
 */
import { ApiProblem, enc, getAll, newIdempotencyKey, sendJson } from './api.js';
import { badge, controlName, facts, fill, h, link, problemBox, screenHead } from './dom.js';
import { href } from './router.js';

/** A key whose POST got no answer is reused on the next click, so a lost reply cannot start a second run. */
const unansweredKeys = new Map();

export const KIND_NAMES = { host_list_detection: 'Host List Detection', custom: 'Custom' };

/** Starts a run of the fetcher (once, however often clicked) and opens its live progress. */
export function runButton(fetcher, ctx, area) {
  const button = h('button', { type: 'button', class: 'primary', disabled: !fetcher.enabled, 'aria-label': `Run now: ${fetcher.name}` }, 'Run now');
  button.addEventListener('click', async () => {
    // Disabled at once, so a double click lands on a disabled button.
    button.disabled = true;
    fill(area, 'Starting a run…');
    const key = unansweredKeys.get(fetcher.id) ?? newIdempotencyKey();
    unansweredKeys.set(fetcher.id, key);
    try {
      const run = await sendJson('POST', `/v1/fetchers/${enc(fetcher.id)}/runs`, undefined, { 'idempotency-key': key });
      unansweredKeys.delete(fetcher.id);
      ctx.navigate(href('runs', run.id));
    } catch (err) {
      // Any answer at all, even a refusal, means the server has seen this key.
      if (!(err instanceof ApiProblem && err.status === 0)) unansweredKeys.delete(fetcher.id);
      fill(area, problemBox(err));
      button.disabled = false;
    }
  });
  return button;
}

export async function renderFetchers(content, ctx) {
  const [fetchers, connections] = await Promise.all([getAll('/v1/fetchers?limit=500'), getAll('/v1/connections?limit=100')]);
  const byId = new Map(connections.map((c) => [c.id, c]));
  const add = ctx.isAdmin ? h('a', { class: 'button primary', href: href('fetchers', 'new') }, '+ Add new fetcher') : null;
  const empty = ctx.isAdmin
    ? h('p', {}, connections.length ? 'No fetchers yet: add one.' : ['Connect Qualys first on the ', link('#/connections', 'Connections'), ' screen, then add fetchers.'])
    : h('p', {}, 'No fetchers yet. An administrator adds them.');
  fill(content,
    screenHead('Fetchers', add),
    h('p', { class: 'hint' }, 'Run a fetcher to pull fresh evidence from Qualys; it is filed under the controls and audit requests the fetcher is mapped to.'),
    fetchers.length ? h('div', { class: 'cards' }, fetchers.map((f) => fetcherCard(f, byId.get(f.connectionId), ctx))) : empty,
  );
}

function fetcherCard(fetcher, connection, ctx) {
  const area = h('div', { class: 'card-action', 'aria-live': 'polite' });
  return h(
    'article',
    { class: 'card fetcher', 'data-fetcher-id': fetcher.id },
    h('h2', {}, link(href('fetchers', fetcher.id), fetcher.name)),
    facts([
      ['Kind', KIND_NAMES[fetcher.kind]],
      ['State', fetcher.enabled ? badge('fresh', 'enabled') : badge('missing', 'disabled')],
      ['Connection', connection ? `${connection.name}${connection.status === 'disconnected' ? ' (disconnected)' : ''}` : fetcher.connectionId],
      ['Format', fetcher.format],
      ['Controls', fetcher.controls.length ? fetcher.controls.map(controlName).join(', ') : 'none mapped'],
    ]),
    fetcher.configProblem ? h('p', { class: 'problem' }, `This fetcher cannot run as defined: ${fetcher.configProblem}`) : null,
    h('div', { class: 'actions' }, runButton(fetcher, ctx, area), link(href('fetchers', fetcher.id), 'Details, mappings and schedules')),
    area,
  );
}
