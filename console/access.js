/**
 * API keys and webhooks (administrators): keys created with their token
 * shown once and revoked; webhooks with their secret shown once, enabled or
 * disabled, and their delivery log.
 */
import { enc, getAll, getJson, sendJson } from './api.js';
import { badge, fill, formatTime, h, problemBox, screenHead, section, table } from './dom.js';
import { busy, checkedValues, choice, confirmAction, errorSlots, field, group, input, select, shownOnce } from './forms.js';

const EVENTS = [
  ['run.completed', 'run.completed: evidence sealed and filed'],
  ['run.failed', 'run.failed: a run ended in failure'],
];

export async function renderAccess(content, ctx) {
  const [keys, webhooks] = await Promise.all([getAll('/v1/api-keys?limit=500'), getAll('/v1/webhooks?limit=100')]);
  fill(content, screenHead('API keys and webhooks'), keysSection(keys, ctx), webhooksSection(webhooks, ctx));
}

function keysSection(keys, ctx) {
  const area = h('div', { 'aria-live': 'polite' });
  const rows = keys.map((k) => {
    const revoke = k.revokedAt ? null : h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${k.name}` }, 'Revoke');
    revoke?.addEventListener('click', () =>
      busy(revoke, async () => {
        const ok = await confirmAction({ title: `Revoke ${k.name}?`, body: 'Every request with this key is refused from now on. This cannot be undone.', confirm: 'Revoke key' });
        if (!ok) return;
        await sendJson('DELETE', `/v1/api-keys/${enc(k.id)}`);
        ctx.reload();
      }).catch((err) => fill(area, problemBox(err))),
    );
    return h(
      'tr',
      { 'data-key-id': k.id },
      h('th', { scope: 'row' }, k.name),
      h('td', {}, k.role),
      h('td', {}, h('code', {}, `${k.tokenPrefix}…`)),
      h('td', {}, formatTime(k.createdAt)),
      h('td', {}, formatTime(k.lastUsedAt)),
      h('td', {}, k.revokedAt ? badge('missing', `revoked ${formatTime(k.revokedAt)}`) : revoke),
    );
  });
  const name = field('Key name', input({ autocomplete: 'off' }), 'Who or what uses the key, e.g. "alice" or "ci".');
  const role = field('Role', select([['auditor', 'auditor: runs fetchers, reads and downloads evidence'], ['admin', 'admin: manages everything']], 'auditor'));
  const summary = h('div', { 'aria-live': 'polite' });
  const errors = errorSlots(summary, { name, role });
  const create = h('button', { type: 'submit', class: 'primary' }, 'Create key');
  const form = h('form', { class: 'stack', novalidate: true }, h('h3', {}, 'New API key'), name, role, h('div', { class: 'actions' }, create), summary);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(create, async () => {
      errors.clear();
      try {
        const key = await sendJson('POST', '/v1/api-keys', { name: name.control.value, role: role.control.value });
        fill(summary, shownOnce(`Token of ${key.name} (${key.role})`, key.token));
        name.control.value = '';
        summary.querySelector('input')?.focus();
      } catch (err) {
        errors.show(err);
      }
    });
  });
  return section('API keys', table(['Name', 'Role', 'Token starts', 'Created', 'Last used', ''], rows), area, form);
}

function webhooksSection(webhooks, ctx) {
  const area = h('div', { 'aria-live': 'polite' });
  const cards = webhooks.map((w) => webhookCard(w, ctx, area));
  const url = field('Receiver URL', input({ type: 'url', autocomplete: 'off', placeholder: 'https://grc.example.com/hooks/qualys' }), 'Deliveries are signed POSTs (X-Qualys-Connector-Signature); see the README for checking them.');
  const events = group('Events', EVENTS.map(([v, label]) => choice('checkbox', 'events', v, label, true)));
  const secret = field('Signing secret (optional)', input({ type: 'password', autocomplete: 'new-password' }), 'At least 16 characters; left empty, one is generated and shown once.');
  const summary = h('div', { 'aria-live': 'polite' });
  const errors = errorSlots(summary, { url, events, secret });
  const create = h('button', { type: 'submit', class: 'primary' }, 'Add webhook');
  const form = h('form', { class: 'stack', novalidate: true }, h('h3', {}, 'New webhook'), url, events, secret, h('div', { class: 'actions' }, create), summary);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(create, async () => {
      errors.clear();
      const body = { url: url.control.value, events: checkedValues(events, 'events') };
      if (secret.control.value) body.secret = secret.control.value;
      try {
        const created = await sendJson('POST', '/v1/webhooks', body);
        fill(summary, shownOnce(`Signing secret of ${created.url}`, created.secret));
        summary.querySelector('input')?.focus();
      } catch (err) {
        errors.show(err);
      }
    });
  });
  return section('Webhooks', cards.length ? h('div', { class: 'cards' }, cards) : h('p', {}, 'No webhooks yet.'), area, form);
}

function webhookCard(w, ctx, area) {
  const log = h('div');
  const act = (label, work, cls = '') => {
    const b = h('button', { type: 'button', class: cls }, label);
    b.addEventListener('click', () => busy(b, work).catch((err) => fill(area, problemBox(err))));
    return b;
  };
  const own = h('div', { 'aria-live': 'polite' });
  return h(
    'article',
    { class: 'card', 'data-webhook-id': w.id },
    h('h3', {}, w.url),
    h('p', {}, w.enabled ? badge('fresh', 'enabled') : badge('missing', 'disabled'), ` ${w.events.join(', ')}; since ${formatTime(w.createdAt)}`),
    h(
      'div',
      { class: 'actions' },
      act(w.enabled ? 'Disable' : 'Enable', async () => {
        await sendJson('PATCH', `/v1/webhooks/${enc(w.id)}`, { enabled: !w.enabled });
        ctx.reload();
      }),
      act('Rotate secret', async () => {
        const ok = await confirmAction({ title: 'Rotate the signing secret?', body: 'Deliveries are signed with the new secret at once; update the receiver.', confirm: 'Rotate', danger: false });
        if (!ok) return;
        const updated = await sendJson('PATCH', `/v1/webhooks/${enc(w.id)}`, { rotateSecret: true });
        fill(own, shownOnce('New signing secret', updated.secret));
      }),
      act('Delivery log', async () => {
        const page = await getJson(`/v1/webhooks/${enc(w.id)}/deliveries?limit=50`);
        fill(log,
          page.items.length
            ? table(
                ['When', 'Event', 'Run', 'Attempt', 'Answer'],
                page.items.map((d) =>
                  h('tr', {}, h('td', {}, formatTime(d.createdAt)), h('td', {}, d.event), h('td', {}, d.runId), h('td', { class: 'num' }, String(d.attempt)), h('td', {}, d.ok ? badge('fresh', `${d.httpStatus}`) : badge('failed', d.httpStatus ? String(d.httpStatus) : 'no answer'), d.error ? ` ${d.error}` : '')),
                ),
              )
            : h('p', {}, 'No deliveries yet.'),
        );
      }),
      act(
        'Delete',
        async () => {
          const ok = await confirmAction({ title: 'Delete this webhook?', body: 'No more deliveries go to this receiver.', confirm: 'Delete webhook' });
          if (!ok) return;
          await sendJson('DELETE', `/v1/webhooks/${enc(w.id)}`);
          ctx.reload();
        },
        'danger',
      ),
    ),
    own,
    log,
  );
}
