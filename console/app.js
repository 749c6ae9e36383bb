/* global document */
/**
 * The console's shell: sign-in with an API key, the screen tabs, and
 * loading each screen when it is shown.
 */
import { getJson, onUnauthenticated, session } from './api.js';
import { h, problemBox } from './dom.js';
import { forgetRuns, renderFetchers } from './fetchers.js';
import { renderControls, renderEvidence, renderRuns } from './lists.js';

const SCREENS = { fetchers: renderFetchers, controls: renderControls, evidence: renderEvidence, runs: renderRuns };

const $ = (selector) => document.querySelector(selector);
const notice = $('#notice');
const tabs = $('#tabs');
const signOutButton = $('#sign-out');
const signInSection = $('#sign-in');
const keyInput = $('#api-key');

function showNotice(message) {
  notice.textContent = message;
  notice.hidden = !message;
}

function showSignIn(message) {
  forgetRuns();
  for (const panel of document.querySelectorAll('.screen')) {
    panel.hidden = true;
    panel.querySelector('.content').replaceChildren();
  }
  tabs.hidden = true;
  signOutButton.hidden = true;
  signInSection.hidden = false;
  showNotice(message);
  keyInput.value = '';
  keyInput.focus();
}

async function load(name) {
  const content = $(`#${name} .content`);
  content.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
  try {
    await SCREENS[name](content);
  } catch (err) {
    // A 401 has already sent the user back to sign in; the screen is gone.
    if (err.status !== 401) content.replaceChildren(problemBox(err));
  }
}

function showScreen(name) {
  for (const button of tabs.querySelectorAll('button')) {
    if (button.dataset.screen === name) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  }
  for (const panel of document.querySelectorAll('.screen')) panel.hidden = panel.id !== name;
  $(`#${name} h2`).focus();
  return load(name);
}

function showApp() {
  signInSection.hidden = true;
  tabs.hidden = false;
  signOutButton.hidden = false;
  showNotice('');
  return showScreen('fetchers');
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
    // Any read proves the key; a refused one comes back through onUnauthenticated.
    await getJson('/v1/fetchers?limit=1');
  } catch (err) {
    if (err.status !== 401) showNotice(err.message);
    return;
  }
  await showApp();
});

signOutButton.addEventListener('click', () => {
  session.signOut();
  showSignIn('You are signed out.');
});

tabs.addEventListener('click', (event) => {
  const name = event.target.closest('button')?.dataset.screen;
  if (name) void showScreen(name);
});

for (const button of document.querySelectorAll('[data-refresh]')) {
  button.addEventListener('click', () => load(button.closest('.screen').id));
}

if (session.token) void showApp();
else showSignIn('');
