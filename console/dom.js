/* global document */
/**
 * Building the page from API data. Text always goes in as text nodes, never
 * as HTML, so names and messages from the API cannot inject markup.
 */

const present = (children) => children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false);

/** Replaces an element's children, leaving out null, undefined and false (replaceChildren would print them). */
export function fill(el, ...children) {
  el.replaceChildren(...present(children));
  return el;
}

function build(el, attrs, children) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  el.append(...present(children));
  return el;
}

/** h('button', { type: 'button', onclick }, 'Run'): attributes, `on…` listeners, children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** The same for SVG elements, which need their namespace. */
export function svg(tag, attrs = {}, ...children) {
  return build(document.createElementNS('http://www.w3.org/2000/svg', tag), attrs, children);
}

let nextId = 0;
/** A page-unique id for label/field and aria-describedby pairs. */
export function uid(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

export function formatTime(iso) {
  return iso ? new Date(iso).toLocaleString() : '—';
}

export function formatDate(iso) {
  return iso ? new Date(iso).toLocaleDateString() : '—';
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** The full hash is the element's text (so copying takes all of it); CSS shortens it on screen unless `full`. */
export function sha(hex, full = false) {
  return h('code', { class: full ? 'sha sha-full' : 'sha', title: hex }, hex);
}

/** A status word as text inside a coloured badge: the colour is never the only signal. */
export function badge(state, text = state) {
  return h('span', { class: `badge badge-${state}` }, text);
}

export function controlName(control) {
  return `${control.framework} ${control.code}`;
}

export function link(href, ...children) {
  return h('a', { href }, ...children);
}

/** A definition list from [term, value] pairs; pairs with a null value are left out. */
export function facts(pairs, cls = 'facts') {
  return h('dl', { class: cls }, pairs.filter(([, v]) => v !== null && v !== undefined).map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
}

/** A table in a box that scrolls sideways in narrow windows; the box is focusable so keyboard users can scroll it too. */
export function table(headings, rows, attrs = {}, label = `Table of ${headings.filter(Boolean).join(', ')}`) {
  return h(
    'div',
    { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': label },
    h('table', attrs, h('thead', {}, h('tr', {}, headings.map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows)),
  );
}

/** What went wrong, as the API said it: the problem's detail, Qualys's code and text, and each field's reason. */
export function problemBox(err) {
  const errors = err.errors ?? [];
  const qualys = err.qualysCode !== null && err.qualysCode !== undefined
    ? h('p', {}, `Qualys code ${err.qualysCode}`, err.qualysText ? `: ${err.qualysText}` : '')
    : null;
  return h(
    'div',
    { class: 'problem', role: 'alert' },
    h('p', {}, err.message),
    qualys,
    errors.length ? h('ul', {}, errors.map((e) => h('li', {}, `${e.field}: ${e.reason}`))) : null,
  );
}

/** A titled part of a screen. */
export function section(title, ...children) {
  const id = uid('sec');
  return h('section', { class: 'panel', 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

/** A screen's title (focused when the screen opens) and its actions. */
export function screenHead(title, ...actions) {
  return h('div', { class: 'screen-head' }, h('h1', { tabindex: '-1' }, title), actions.length ? h('div', { class: 'actions' }, actions) : null);
}
