/* global document */
/**
 * Building the page from API data. Text always goes in as text nodes, never
 * as HTML, so names and messages from the API cannot inject markup.
 */
import { downloadVerified } from './api.js';

/** h('button', { type: 'button', onclick }, 'Run'): attributes, `on…` listeners, children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  el.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return el;
}

export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function formatTime(iso) {
  return iso ? new Date(iso).toLocaleString() : '—';
}

export function formatDate(iso) {
  return iso ? new Date(iso).toLocaleDateString() : '—';
}

/** The full hash is the element's text (so copying takes all of it); CSS shortens it on screen. */
export function sha(hex) {
  return h('code', { class: 'sha', title: hex }, hex);
}

/** A status word as text inside a coloured badge: the colour is never the only signal. */
export function badge(state) {
  return h('span', { class: `badge badge-${state}` }, state);
}

export function controlName(control) {
  return `${control.framework} ${control.code}`;
}

/** What went wrong, as the API said it: the problem's detail and each field's reason. */
export function problemBox(err) {
  const errors = err.errors ?? [];
  return h(
    'div',
    { class: 'problem', role: 'alert' },
    h('p', {}, err.message),
    errors.length ? h('ul', {}, errors.map((e) => h('li', {}, `${e.field}: ${e.reason}`))) : null,
  );
}

/** A Download button that verifies the file and reports the SHA-256 it checked, or why it saved nothing. */
export function downloadButton(evidenceId, label = 'Download') {
  const status = h('span', { class: 'download-status', role: 'status' });
  const button = h('button', { type: 'button', onclick: () => start() }, label);
  async function start() {
    button.disabled = true;
    status.replaceChildren('Downloading and verifying…');
    try {
      const saved = await downloadVerified(evidenceId);
      status.replaceChildren(`Saved ${saved.filename} (${formatBytes(saved.bytes)}), verified SHA-256 `, sha(saved.sha256));
    } catch (err) {
      status.replaceChildren(problemBox(err));
    } finally {
      button.disabled = false;
    }
  }
  return h('span', { class: 'download' }, button, ' ', status);
}
