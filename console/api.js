/* global fetch, sessionStorage, crypto */
/**
 * Talking to the /v1 API: the bearer key (the console's only credential),
 * JSON in and out, and problem documents turned into errors that keep every
 * field the API named.
 */

// sessionStorage, not localStorage or a cookie: the key dies with the tab and is never sent by the browser on its own.
const TOKEN_KEY = 'qualys-evidence.api-key';

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  signIn(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** An answer that was not a success; `status` is 0 when the API could not be reached at all. */
export class ApiProblem extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `the API answered ${status}`);
    this.status = status;
    this.title = problem.title ?? null;
    this.type = problem.type ?? null;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    /** Qualys's own words when the API called Qualys for us. */
    this.qualysCode = problem.qualysCode ?? null;
    this.qualysText = problem.qualysText ?? null;
  }
}

let unauthenticated = () => {};

/** Called with the API's reason when the key is missing, unknown or revoked. */
export function onUnauthenticated(handler) {
  unauthenticated = handler;
}

async function readProblem(res) {
  if (/json/.test(res.headers.get('content-type') ?? '')) {
    try {
      return await res.json();
    } catch {
      // Not a readable problem document: fall back to the status line.
    }
  }
  return { detail: `the API answered ${res.status} ${res.statusText}`.trim() };
}

/** One call with the key; resolves with the Response on success, throws an ApiProblem otherwise. */
export async function send(method, path, { body, headers = {}, signal } = {}) {
  const token = session.token;
  // Only a screen still loading after sign-out gets here; the sign-in screen is already showing.
  if (!token) throw new ApiProblem(401, { detail: 'signed out' });
  const init = { method, headers: { authorization: `Bearer ${token}`, ...headers }, cache: 'no-store', signal };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['content-type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiProblem(0, { detail: `the API could not be reached (${err.message})` });
  }
  if (res.ok) return res;
  const problem = new ApiProblem(res.status, await readProblem(res));
  if (res.status === 401) unauthenticated(problem.message);
  throw problem;
}

export async function getJson(path, options) {
  return (await send('GET', path, options)).json();
}

/** POST/PUT/PATCH/DELETE with an optional JSON body; null for 204 answers. */
export async function sendJson(method, path, body, headers) {
  const res = await send(method, path, { body, headers });
  return res.status === 204 ? null : res.json();
}

/** Follows `nextCursor` to the end; for short lists (fetchers, connections, requests). */
export async function getAll(path) {
  const items = [];
  let cursor = null;
  const join = path.includes('?') ? '&' : '?';
  do {
    const page = await getJson(cursor ? `${path}${join}cursor=${encodeURIComponent(cursor)}` : path);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

export const enc = encodeURIComponent;

/** crypto.randomUUID exists only in secure contexts; getRandomValues everywhere. */
export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
