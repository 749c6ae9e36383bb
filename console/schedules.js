/* global queueMicrotask */
/**
 * A fetcher's schedules: the framework presets, the time zone they are read
 * in, the next times Temporal will run them, and pause, resume, run now,
 * backfill and delete for administrators.
 */
import { enc, getAll, getJson, sendJson } from './api.js';
import { badge, facts, fill, formatTime, h, problemBox, section, uid } from './dom.js';
import { busy, confirmAction, errorSlots, field, input, select } from './forms.js';

export const PRESETS = [
  ['pci-quarterly', 'PCI quarterly: 02:00 on the 1st of January, April, July and October (PCI DSS 11.2)'],
  ['fedramp-monthly', 'FedRAMP monthly: 02:00 on the 1st of every month (FedRAMP RA-5)'],
  ['weekly', 'Weekly: 02:00 every Monday (CIS 3.1 / 4.1)'],
];
const PRESET_NAMES = Object.fromEntries(PRESETS.map(([k, v]) => [k, v.split(':')[0]]));

function timeZones() {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
}

export async function schedulesSection(fetcher, ctx) {
  const rows = await getAll(`/v1/fetchers/${enc(fetcher.id)}/schedules?limit=100`);
  // The list has no Temporal state; each schedule's own read has its next run times.
  const schedules = await Promise.all(rows.map((s) => getJson(`/v1/schedules/${enc(s.id)}`)));
  return section(
    'Schedules',
    schedules.length ? h('div', { class: 'cards' }, schedules.map((s) => scheduleCard(s, ctx))) : h('p', {}, 'Not scheduled: it runs only when someone runs it.'),
    ctx.isAdmin ? scheduleForm(fetcher, ctx) : null,
  );
}

function scheduleCard(s, ctx) {
  const area = h('div', { class: 'card-action', 'aria-live': 'polite' });
  const t = s.temporal;
  const act = (label, work, cls = '') => {
    const b = h('button', { type: 'button', class: cls }, label);
    b.addEventListener('click', () => busy(b, work).catch((err) => fill(area, problemBox(err))));
    return b;
  };
  const paused = t ? t.paused : s.paused;
  const actions = ctx.isAdmin
    ? h(
        'div',
        { class: 'actions' },
        paused
          ? act('Resume', async () => {
              await sendJson('POST', `/v1/schedules/${enc(s.id)}/resume`);
              ctx.reload();
            })
          : act('Pause', async () => {
              await sendJson('POST', `/v1/schedules/${enc(s.id)}/pause`);
              ctx.reload();
            }),
        act('Trigger now', async () => {
          await sendJson('POST', `/v1/schedules/${enc(s.id)}/trigger`);
          fill(area, 'Triggered: the run appears in the list below in a moment.');
        }),
        act('Backfill…', async () => fill(area, backfillForm(s, area))),
        act(
          'Delete',
          async () => {
            const ok = await confirmAction({ title: 'Delete this schedule?', body: 'The fetcher stops running on it. Past runs and evidence stay.', confirm: 'Delete schedule' });
            if (!ok) return;
            await sendJson('DELETE', `/v1/schedules/${enc(s.id)}`);
            ctx.reload();
          },
          'danger',
        ),
      )
    : null;
  return h(
    'article',
    { class: 'card', 'data-schedule-id': s.id },
    h('h3', {}, s.preset ? PRESET_NAMES[s.preset] : 'Custom calendar'),
    facts([
      ['State', paused ? badge('missing', 'paused') : badge('fresh', 'active')],
      ['Time zone', s.timezone],
      ['Next runs', t ? (t.nextActionTimes.length ? h('ul', { class: 'times' }, t.nextActionTimes.map((when) => h('li', {}, formatTime(when)))) : 'none while paused') : 'Temporal no longer has this schedule'],
      ['Catch-up window', s.catchupWindow],
      ['Jitter', s.jitter],
      ['Note', t?.note ?? s.note],
      ['Runs so far', t ? String(t.actionsTaken) : null],
    ]),
    actions,
    area,
  );
}

function backfillForm(s, area) {
  const start = field('From', input({ type: 'datetime-local' }), 'In your browser\'s time zone.');
  const end = field('To', input({ type: 'datetime-local' }));
  const summary = h('div');
  const errors = errorSlots(summary, { start, end });
  const go = h('button', { type: 'submit', class: 'primary' }, 'Run the missed times');
  const form = h('form', { class: 'inline-form', novalidate: true }, start, end, go, summary);
  const iso = (value) => (value ? new Date(value).toISOString() : value);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(go, async () => {
      errors.clear();
      try {
        await sendJson('POST', `/v1/schedules/${enc(s.id)}/backfill`, { start: iso(start.control.value), end: iso(end.control.value) });
        fill(area, 'Backfill started: one run per scheduled time in the period.');
      } catch (err) {
        errors.show(err);
      }
    });
  });
  queueMicrotask(() => start.control.focus());
  return form;
}

function scheduleForm(fetcher, ctx) {
  const listId = uid('tz');
  const preset = field('Preset', select(PRESETS, 'pci-quarterly'), 'All presets run at 02:00, a quiet hour for Qualys; a missed run is caught up after an outage.');
  const timezone = field('Time zone', input({ value: 'UTC', list: listId, autocomplete: 'off', spellcheck: 'false' }), 'An IANA time zone such as UTC, Europe/Berlin or America/New_York.');
  timezone.append(h('datalist', { id: listId }, timeZones().map((z) => h('option', { value: z }))));
  const note = field('Note (optional)', input({ autocomplete: 'off' }));
  const summary = h('div', { 'aria-live': 'polite' });
  const errors = errorSlots(summary, { preset, timezone, note });
  const add = h('button', { type: 'submit', class: 'primary' }, 'Add schedule');
  const form = h('form', { class: 'stack', novalidate: true }, h('h3', {}, 'Add a schedule'), preset, timezone, note, h('div', { class: 'actions' }, add), summary);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(add, async () => {
      errors.clear();
      const body = { preset: preset.control.value, timezone: timezone.control.value.trim() };
      if (note.control.value.trim()) body.note = note.control.value.trim();
      try {
        await sendJson('POST', `/v1/fetchers/${enc(fetcher.id)}/schedules`, body);
        ctx.reload();
      } catch (err) {
        errors.show(err);
      }
    });
  });
  return form;
}
