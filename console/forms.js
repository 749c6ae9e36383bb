/* global document */
/**
 * Form building blocks: every field has a label, a hint and an error slot
 * tied to it with aria-describedby; a problem document from the API puts
 * each field's reason beside that field; confirmations say what will happen.
 */
import { fill, h, problemBox, uid } from './dom.js';

/**
 * A labelled control. `control` is an element (input, select, textarea)
 * or a function of its id. Returns the wrapper; `.control` and `.error` on it.
 */
export function field(label, control, hint = null) {
  const id = uid('f');
  const el = typeof control === 'function' ? control(id) : control;
  el.id = id;
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  const errorEl = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  el.setAttribute('aria-describedby', [hintEl ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(' '));
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), el, hintEl, errorEl);
  wrap.control = el;
  wrap.error = errorEl;
  return wrap;
}

/** A fieldset of checkboxes or radios; `.error` as for field(). */
export function group(legend, inputs, hint = null) {
  const id = uid('g');
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  const errorEl = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  const set = h(
    'fieldset',
    { class: 'field group', 'aria-describedby': [hintEl ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(' ') },
    h('legend', {}, legend),
    hintEl,
    h('div', { class: 'choices' }, inputs),
    errorEl,
  );
  set.error = errorEl;
  set.control = set;
  return set;
}

/** One checkbox or radio with its label. */
export function choice(type, name, value, label, checked = false, disabled = false) {
  const id = uid('c');
  return h('span', { class: 'choice' }, h('input', { type, name, value, id, checked, disabled }), h('label', { for: id }, label));
}

export function input(attrs = {}) {
  return h('input', { type: 'text', ...attrs });
}

export function select(options, value) {
  return h(
    'select',
    {},
    options.map(([v, label, attrs = {}]) => h('option', { value: v, selected: String(v) === String(value ?? ''), ...attrs }, label)),
  );
}

/** Values of the ticked boxes named `name` inside `root`. */
export function checkedValues(root, name) {
  return Array.from(root.querySelectorAll(`input[name="${name}"]:checked`), (el) => el.value);
}

/**
 * Where each API field's error goes: `slots` (or a function giving it) maps
 * a field path (`filters.ips`) to the element returned by field()/group(). An error on
 * `filters.severities.0` lands on `filters.severities`; anything unmatched
 * lands in the form's summary.
 */
export function errorSlots(summary, slots) {
  const shown = new Set();
  const clear = () => {
    for (const slot of shown) {
      slot.error.hidden = true;
      slot.error.textContent = '';
      slot.control.removeAttribute('aria-invalid');
    }
    shown.clear();
    fill(summary);
  };
  const slotFor = (path) => {
    const known = typeof slots === 'function' ? slots() : slots;
    const parts = path.split('.');
    for (let n = parts.length; n > 0; n -= 1) {
      const slot = known[parts.slice(0, n).join('.')];
      if (slot) return slot;
    }
    return null;
  };
  /** Places the problem's field errors; returns true when some went beside a field. */
  const show = (err) => {
    clear();
    const unplaced = [];
    for (const e of err.errors ?? []) {
      const slot = slotFor(e.field);
      if (!slot) {
        unplaced.push(e);
        continue;
      }
      slot.error.textContent = slot.error.textContent ? `${slot.error.textContent}; ${e.reason}` : e.reason;
      slot.error.hidden = false;
      slot.control.setAttribute('aria-invalid', 'true');
      shown.add(slot);
    }
    const placed = shown.size > 0;
    fill(summary,
      placed && unplaced.length === 0
        ? h('p', { class: 'problem', role: 'alert' }, 'Nothing was saved: see the reason beside each marked field.')
        : problemBox({ ...err, errors: unplaced }),
    );
    const first = [...shown][0];
    if (first) (first.control.matches('fieldset') ? first.control.querySelector('input, select, textarea') : first.control)?.focus();
    return placed;
  };
  /** A problem found in the browser, beside one field. */
  const local = (path, reason) => show({ message: 'Nothing was saved', errors: [{ field: path, reason }] });
  return { show, clear, local };
}

/**
 * A JSON object typed in a text area, checked as the user types: values must
 * be strings, numbers or booleans (what Qualys parameters can be).
 * `.read()` gives the object, or throws with the reason.
 */
export function jsonObjectArea(initial, status) {
  const area = h('textarea', { rows: 4, spellcheck: 'false', class: 'code' });
  area.value = initial && Object.keys(initial).length ? JSON.stringify(initial, null, 2) : '';
  const read = () => {
    const text = area.value.trim();
    if (text === '') return {};
    let value;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new Error(`not valid JSON (${err.message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('must be a JSON object such as {"show_igs": 1}');
    for (const [key, v] of Object.entries(value)) {
      if (!['string', 'number', 'boolean'].includes(typeof v)) throw new Error(`"${key}": values must be strings, numbers or booleans`);
    }
    return value;
  };
  const check = () => {
    try {
      const n = Object.keys(read()).length;
      status.textContent = n ? `Valid JSON: ${n} parameter${n === 1 ? '' : 's'}.` : '';
      status.className = 'json-status ok';
      area.removeAttribute('aria-invalid');
    } catch (err) {
      status.textContent = `Not yet valid: ${err.message}`;
      status.className = 'json-status bad';
      area.setAttribute('aria-invalid', 'true');
    }
  };
  area.addEventListener('input', check);
  area.read = read;
  check();
  return area;
}

/** A whole number typed as text: sent as a number when it is one, else as typed so the API names the problem. */
export function numberOrText(value) {
  const text = value.trim();
  if (text === '') return undefined;
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

/** Disables the button while `work` runs; the button's own label says what is happening. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/**
 * A modal question (a real <dialog>: focus stays inside, Escape cancels).
 * Resolves true only when the user confirms.
 */
export function confirmAction({ title, body, confirm, danger = true }) {
  return modal({ title, body, confirm, danger }).then((answer) => answer !== null);
}

/**
 * The same with an optional "Reason" field, for actions kept on the record
 * (filing evidence by hand). Resolves the reason typed ('' for none), or null when cancelled.
 */
export function confirmWithReason({ title, body, confirm, danger = false, reasonLabel = 'Reason (optional)', reasonHint = 'Kept with the event, e.g. "asked by the QSA".' }) {
  return modal({ title, body, confirm, danger, reason: field(reasonLabel, input({ autocomplete: 'off', maxlength: 1000 }), reasonHint) });
}

function modal({ title, body, confirm, danger, reason = null }) {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const yes = h('button', { type: 'button', class: danger ? 'danger' : 'primary' }, confirm);
    const no = h('button', { type: 'button' }, 'Cancel');
    const dialog = h(
      'dialog',
      { 'aria-labelledby': titleId, class: 'confirm' },
      h('h2', { id: titleId }, title),
      ...(Array.isArray(body) ? body : [body]).map((p) => h('p', {}, p)),
      reason,
      h('div', { class: 'actions' }, yes, no),
    );
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    yes.addEventListener('click', () => done(reason ? reason.control.value.trim() : ''));
    no.addEventListener('click', () => done(null));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      done(null);
    });
    document.body.append(dialog);
    dialog.showModal();
    (reason ? reason.control : no).focus();
  });
}

/** A secret shown once (API token, webhook secret): selectable text and a plain warning. */
export function shownOnce(label, secret) {
  const out = h('input', { type: 'text', readonly: true, value: secret, class: 'code', spellcheck: 'false' });
  const wrap = field(label, out, 'Shown only now: copy it and store it safely. It cannot be shown again.');
  return h('div', { class: 'once', role: 'status' }, wrap);
}
