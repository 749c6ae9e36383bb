/* global document, window, performance, URLSearchParams */
/**
 * The console's shell: sign-in with an API key, what the key's role may
 * see, and showing the screen the address names. Screens render into #view;
 * timers they start are stopped when the user leaves them.
 */
import { getJson, onUnauthenticated, session } from './api.js';
import { fill, h, problemBox } from './dom.js';
import { parseRoute } from './router.js';
import { renderConnections } from './connections.js';
import { renderFetchers } from './fetchers.js';
import { renderFetcherForm } from './fetcher-form.js';
import { renderFetcher } from './fetcher-detail.js';
import { renderRun, renderRuns } from './runs.js';
import { renderEvidence, renderEvidenceItem } from './evidence.js';
import { renderControl, renderControls } from './controls.js';
import { renderRequest, renderRequests } from './requests.js';
import { renderAccess } from './access.js';

const SCREENS = {
  connections: renderConnections,
  fetchers: renderFetchers,
  'fetcher-new': renderFetcherForm,
  'fetcher-edit': renderFetcherForm,
  fetcher: renderFetcher,
  runs: renderRuns,
  run: renderRun,
  evidence: renderEvidence,
  'evidence-item': renderEvidenceItem,
  controls: renderControls,
  control: renderControl,
  requests: renderRequests,
  request: renderRequest,
  access: renderAccess,
};

const $ = (selector) => document.querySelector(selector);
const notice = $('#notice');
const nav = $('#nav');
const who = $('#who');
const signOutButton = $('#sign-out');
const signInSection = $('#sign-in');
const keyInput = $('#api-key');
const view = $('#view');

/** The signed-in key ({ name, role }), or null. */
let me = null;
/** Stops the timers of the screen on show. */
let leaveScreen = () => {};
/** Bumped on every navigation, so a slow screen that finishes late does not draw over the next one. */
let generation = 0;

function showNotice(message) {
  notice.textContent = message;
  notice.hidden = !message;
}

function showSignIn(message) {
  leaveScreen();
  me = null;
  generation += 1;
  fill(view);
  view.hidden = true;
  nav.hidden = true;
  who.hidden = true;
  signOutButton.hidden = true;
  signInSection.hidden = false;
  showNotice(message);
  keyInput.value = '';
  keyInput.focus();
}

function markCurrent(hash) {
  for (const a of nav.querySelectorAll('a')) {
    const target = a.getAttribute('href');
    if (hash === target || hash.startsWith(`${target}/`) || hash.startsWith(`${target}?`)) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function show() {
  if (!me) return;
  leaveScreen();
  const mine = ++generation;
  const cleanups = [];
  leaveScreen = () => {
    for (const fn of cleanups.splice(0)) fn();
  };
  const hash = window.location.hash || (me.role === 'admin' ? '#/connections' : '#/fetchers');
  const route = parseRoute(hash);
  markCurrent(hash);
  showNotice('');
  view.hidden = false;
  view.setAttribute('aria-busy', 'true');
  view.dataset.screen = route?.screen ?? 'unknown';
  delete view.dataset.ready;
  fill(view, h('p', { class: 'loading' }, 'Loading…'));
  const started = performance.now();
  const ctx = {
    params: route?.params ?? {},
    query: route?.query ?? new URLSearchParams(),
    role: me.role,
    isAdmin: me.role === 'admin',
    current: () => mine === generation,
    onLeave: (fn) => cleanups.push(fn),
    navigate: (to) => {
      window.location.hash = to;
    },
    /** Shows the same screen again with fresh data (after a change). */
    reload: () => void show(),
  };
  try {
    if (!route) {
      fill(view, h('h1', { tabindex: '-1' }, 'No such screen'), h('p', {}, 'Choose a screen from the menu.'));
    } else if (route.adminOnly && me.role !== 'admin') {
      fill(view,
        h('h1', { tabindex: '-1' }, 'For administrators'),
        h('p', {}, `This screen is for administrator keys; "${me.name}" is an auditor key, and the API refuses these actions to it.`),
      );
    } else {
      const content = h('div', { class: 'screen' });
      await SCREENS[route.screen](content, ctx);
      if (mine !== generation) return;
      fill(view, content);
    }
  } catch (err) {
    if (mine !== generation || err.status === 401) return;
    fill(view, h('h1', { tabindex: '-1' }, 'Could not load this screen'), problemBox(err));
  }
  view.setAttribute('aria-busy', 'false');
  view.dataset.ready = 'true';
  performance.measure(`screen:${route?.screen ?? 'unknown'}`, { start: started, end: performance.now() });
  view.querySelector('h1')?.focus();
}

async function startSession() {
  // The key's own record says its role; the API refuses admin actions to auditors whatever the page shows.
  me = await getJson('/v1/me');
  document.body.dataset.role = me.role;
  for (const item of nav.querySelectorAll('[data-role="admin"]')) item.hidden = me.role !== 'admin';
  signInSection.hidden = true;
  nav.hidden = false;
  who.hidden = false;
  who.textContent = `${me.name} (${me.role === 'admin' ? 'administrator' : 'auditor'})`;
  signOutButton.hidden = false;
  showNotice('');
  await show();
}

onUnauthenticated((reason) => {
  session.signOut();
  showSignIn(`Sign in again: ${reason}`);
});

$('#sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = keyInput.value.trim();
  if (!token) return;
  session.signIn(token);
  try {
    await startSession();
  } catch (err) {
    // A refused key has come back through onUnauthenticated already.
    if (err.status !== 401) showNotice(err.message);
  }
});

signOutButton.addEventListener('click', () => {
  session.signOut();
  window.history.replaceState(null, '', window.location.pathname);
  showSignIn('You are signed out.');
});

window.addEventListener('hashchange', () => void show());

if (session.token) startSession().catch((err) => err.status !== 401 && showNotice(err.message));
else showSignIn('');
