/**
 * A searchable multi-select: a fieldset of checkboxes (native, so keyboard
 * and screen readers work as usual) with a filter box, optional groups and
 * a count of what is ticked.
 */
import { h, uid } from './dom.js';

/**
 * items: [{ value, label, group?, detail? }]; selected: values ticked at first.
 * Returns the fieldset with `.values()` and `.error`/`.control` as forms.js expects.
 */
export function multiSelect({ legend, hint = null, items, selected = [], name = uid('ms'), filterLabel = 'Filter' }) {
  const ticked = new Set(selected.map(String));
  const hintId = uid('ms-hint');
  const errorId = uid('ms-error');
  const count = h('p', { class: 'hint count', 'aria-live': 'polite' });
  const filterId = uid('ms-filter');
  const filter = h('input', { type: 'search', id: filterId, autocomplete: 'off' });
  const rows = [];
  const groups = new Map();
  for (const item of items) {
    const id = uid('ms-item');
    const box = h('input', { type: 'checkbox', id, name, value: item.value, checked: ticked.has(String(item.value)) });
    const row = h('li', {}, box, h('label', { for: id }, item.label, item.detail ? h('span', { class: 'muted' }, ` ${item.detail}`) : null));
    row.search = `${item.label} ${item.detail ?? ''} ${item.group ?? ''}`.toLowerCase();
    rows.push({ row, box });
    const key = item.group ?? '';
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(row);
  }
  const lists = Array.from(groups, ([group, groupRows]) => {
    const list = h('ul', { class: 'options' }, groupRows);
    return group ? h('li', { class: 'option-group' }, h('span', { class: 'group-name' }, group), list) : list;
  });
  const body = groups.size > 1 || (groups.size === 1 && !groups.has('')) ? h('ul', { class: 'option-groups' }, lists) : lists;
  const update = () => {
    const n = rows.filter((r) => r.box.checked).length;
    count.textContent = `${n} selected`;
  };
  filter.addEventListener('input', () => {
    const q = filter.value.trim().toLowerCase();
    for (const { row } of rows) row.hidden = q !== '' && !row.search.includes(q);
    for (const g of body.querySelectorAll?.('.option-group') ?? []) g.hidden = g.querySelectorAll('li:not([hidden])').length === 0;
  });
  const errorEl = h('p', { class: 'field-error', id: errorId, hidden: true });
  const set = h(
    'fieldset',
    { class: 'field multi', 'aria-describedby': [hint ? hintId : null, errorId].filter(Boolean).join(' ') },
    h('legend', {}, legend),
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    items.length > 8 ? h('div', { class: 'filter' }, h('label', { for: filterId }, filterLabel), filter) : null,
    items.length ? h('div', { class: 'scroll' }, body) : h('p', { class: 'hint' }, 'Nothing to choose from.'),
    count,
    errorEl,
  );
  set.addEventListener('change', update);
  update();
  set.values = () => rows.filter((r) => r.box.checked).map((r) => r.box.value);
  set.error = errorEl;
  set.control = set;
  return set;
}
