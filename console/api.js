/* global fetch, sessionStorage, crypto, atob, document, URL, setTimeout */
/**
 * Talking to the /v1 API: the bearer key, problem documents, and downloads
 * that are verified against the server's SHA-256 before they are saved.
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
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
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

async function send(method, path, headers = {}) {
  const token = session.token;
  // Only a run still being watched after sign-out gets here; the sign-in screen is already showing.
  if (!token) throw new ApiProblem(401, { detail: 'signed out' });
  let res;
  try {
    res = await fetch(path, { method, headers: { authorization: `Bearer ${token}`, ...headers }, cache: 'no-store' });
  } catch (err) {
    throw new ApiProblem(0, { detail: `the API could not be reached (${err.message})` });
  }
  if (res.ok) return res;
  const problem = new ApiProblem(res.status, await readProblem(res));
  if (res.status === 401) unauthenticated(problem.message);
  throw problem;
}

export async function getJson(path) {
  return (await send('GET', path)).json();
}

export async function postJson(path, headers = {}) {
  return (await send('POST', path, headers)).json();
}

/** Follows `nextCursor` to the end; for short lists (fetchers, connections). */
export async function getAll(path) {
  const items = [];
  let cursor = null;
  do {
    const page = await getJson(cursor ? `${path}&cursor=${encodeURIComponent(cursor)}` : path);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

/** crypto.randomUUID exists only in secure contexts; getRandomValues everywhere. */
export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = toHex(b);
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

function toHex(bytes) {
  return Array.from(bytes, (v) => v.toString(16).padStart(2, '0')).join('');
}

/** The SHA-256 the server vouches for: RFC 9530 `Repr-Digest`, else the strong ETag (which is the hex digest). */
function announcedSha256(headers) {
  const digest = /sha-256=:([A-Za-z0-9+/]+=*):/.exec(headers.get('repr-digest') ?? '');
  if (digest) return toHex(Uint8Array.from(atob(digest[1]), (ch) => ch.charCodeAt(0)));
  const etag = /^"([0-9a-f]{64})"$/.exec(headers.get('etag') ?? '');
  return etag ? etag[1] : null;
}

function filenameOf(headers) {
  const disposition = headers.get('content-disposition') ?? '';
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (encoded) return decodeURIComponent(encoded[1]);
  const plain = /filename="([^"]+)"/i.exec(disposition) ?? /filename=([^;]+)/i.exec(disposition);
  return plain ? plain[1].trim() : null;
}

/**
 * Downloads a piece of evidence, checks its SHA-256 in the browser, and only
 * then hands it to the user under the server's file name. A file that does
 * not match is never saved.
 */
export async function downloadVerified(evidenceId) {
  if (!crypto.subtle) {
    throw new Error('this browser cannot verify downloads on a page that is not served over HTTPS (or from localhost); open the console over HTTPS');
  }
  const res = await send('GET', `/v1/evidence/${encodeURIComponent(evidenceId)}/content`);
  const announced = announcedSha256(res.headers);
  if (!announced) throw new Error('the server sent no SHA-256 (Repr-Digest or ETag) to check the file against; it was not saved');
  const blob = await res.blob();
  const actual = toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer())));
  if (actual !== announced) {
    throw new Error(`the file arrived damaged (SHA-256 ${actual}, expected ${announced}); it was not saved, try again`);
  }
  const filename = filenameOf(res.headers) ?? `evidence-${evidenceId}`;
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  // Revoking at once can cancel the save in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return { filename, sha256: actual, bytes: blob.size };
}
