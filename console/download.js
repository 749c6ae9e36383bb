/* global document, URL, setTimeout, atob, window */
/**
 * Downloads checked against the SHA-256 the server vouches for, computed
 * while the bytes stream in, so no file is ever held whole in script memory.
 * Large files go straight to a file the user picks (where the browser can
 * write files: Chromium's File System Access); the write is committed only
 * when the hash matches, else discarded. Elsewhere the browser keeps the
 * body as a Blob (spilled to disk when large) that is hashed chunk by chunk
 * and saved only when it matches. Reports and exports, which the server
 * vouches for with no hash, are saved the same ways, with the SHA-256 of
 * what was saved reported.
 */
import { send } from './api.js';
import { fill, formatBytes, h, problemBox, sha } from './dom.js';
import { sha256 } from './vendor/sha2.js';

/** Above this size, stream to a picked file where the browser allows it. */
export const STREAM_TO_FILE_BYTES = 256 * 1024 * 1024;

function toHex(bytes) {
  return Array.from(bytes, (v) => v.toString(16).padStart(2, '0')).join('');
}

/** The SHA-256 the server vouches for: RFC 9530 `Repr-Digest`, else the strong ETag (which is the hex digest). */
export function announcedSha256(headers) {
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

/** Reads a stream to its end, hashing each chunk and handing it to `sink`; returns the hex SHA-256 and the byte count. */
export async function hashStream(stream, sink = null) {
  const hasher = sha256.create();
  let bytes = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hasher.update(value);
    bytes += value.byteLength;
    if (sink) await sink(value);
  }
  return { sha256: toHex(hasher.digest()), bytes };
}

function expectedOf(res, expected) {
  const announced = announcedSha256(res.headers);
  if (!announced) throw new Error('the server sent no SHA-256 (Repr-Digest or ETag) to check the file against; it was not saved');
  if (expected && announced !== expected) {
    throw new Error(`the server announced SHA-256 ${announced} but the manifest records ${expected}; it was not saved`);
  }
  return announced;
}

function damaged(actual, wanted) {
  return new Error(`the file arrived damaged (SHA-256 ${actual}, expected ${wanted}); it was not saved, try again`);
}

/**
 * Streams a response into a writable file stream (File System Access):
 * committed on a matching hash, aborted (nothing written) otherwise.
 */
export async function streamToWritable(res, writable, expected = null) {
  let wanted;
  try {
    wanted = expectedOf(res, expected);
    const got = await hashStream(res.body, (chunk) => writable.write(chunk));
    if (got.sha256 !== wanted) throw damaged(got.sha256, wanted);
    await writable.close();
    return got;
  } catch (err) {
    await writable.abort().catch(() => {});
    throw err;
  }
}

async function viaBlob(res, expected) {
  const wanted = expectedOf(res, expected);
  const blob = await res.blob();
  const got = await hashStream(blob.stream());
  if (got.sha256 !== wanted) throw damaged(got.sha256, wanted);
  saveBlob(blob, filenameOf(res.headers) ?? 'evidence');
  return got;
}

function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  // Revoking at once can cancel the save in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * Downloads `path` and saves it only if its SHA-256 matches what the server
 * announced (and `expected`, the manifest's hash, when given).
 * `size` (known from the metadata) picks the streamed path for large files.
 */
export async function downloadVerified(path, { size = 0, expected = null, suggestedName } = {}) {
  if (size > STREAM_TO_FILE_BYTES && typeof window.showSaveFilePicker === 'function') {
    // The picker needs the click's user activation, so it opens before the download starts.
    const handle = await window.showSaveFilePicker({ suggestedName });
    const writable = await handle.createWritable();
    const res = await send('GET', path);
    return { filename: handle.name, ...(await streamToWritable(res, writable, expected)) };
  }
  const res = await send('GET', path);
  return { filename: filenameOf(res.headers) ?? suggestedName, ...(await viaBlob(res, expected)) };
}

/**
 * Saves what `path` answers (a report, an export) that the server vouches
 * for with no hash: streamed into a picked file when `sizeHint` is large and
 * the browser can write files, else kept by the browser as a Blob. Returns
 * the name, size and the SHA-256 of the bytes saved, for the auditor's record.
 */
export async function saveDownload(path, { sizeHint = 0, suggestedName } = {}) {
  if (sizeHint > STREAM_TO_FILE_BYTES && typeof window.showSaveFilePicker === 'function') {
    const handle = await window.showSaveFilePicker({ suggestedName });
    const writable = await handle.createWritable();
    try {
      const res = await send('GET', path);
      const got = await hashStream(res.body, (chunk) => writable.write(chunk));
      await writable.close();
      return { filename: handle.name, ...got };
    } catch (err) {
      await writable.abort().catch(() => {});
      throw err;
    }
  }
  const res = await send('GET', path);
  const blob = await res.blob();
  const got = await hashStream(blob.stream());
  saveBlob(blob, filenameOf(res.headers) ?? suggestedName ?? 'download');
  return { filename: filenameOf(res.headers) ?? suggestedName, ...got };
}

/** A button that fetches `path()` with the key and saves it, reporting the name, size and SHA-256 of what it saved. */
export function saveButton(label, path, { sizeHint = () => 0, name, working = 'Downloading…', ariaLabel = null } = {}) {
  const status = h('span', { class: 'download-status', role: 'status' });
  const button = h('button', { type: 'button', 'aria-label': ariaLabel }, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    fill(status, working);
    try {
      const saved = await saveDownload(path(), { sizeHint: sizeHint(), suggestedName: name });
      fill(status, `Saved ${saved.filename} (${formatBytes(saved.bytes)}), SHA-256 `, sha(saved.sha256, true));
    } catch (err) {
      fill(status, err.name === 'AbortError' ? 'Cancelled: nothing was saved.' : problemBox(err));
    } finally {
      button.disabled = false;
    }
  });
  return h('span', { class: 'download' }, button, ' ', status);
}

/** Hashes `path` without saving it and compares: a verification the auditor runs in their own browser. */
export async function verifyInBrowser(path, expected) {
  const res = await send('GET', path);
  const wanted = expectedOf(res, expected);
  const got = await hashStream(res.body);
  return { ...got, expected: wanted, ok: got.sha256 === wanted };
}

/** A Download button that verifies the file and reports the SHA-256 it checked, or why it saved nothing. */
export function downloadButton(path, { label = 'Download', size = 0, expected = null, name } = {}) {
  const status = h('span', { class: 'download-status', role: 'status' });
  const button = h('button', { type: 'button', 'aria-label': name ? `${label} ${name}` : null }, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    fill(status, 'Downloading and verifying…');
    try {
      const saved = await downloadVerified(path, { size, expected, suggestedName: name });
      fill(status, `Saved ${saved.filename} (${formatBytes(saved.bytes)}), verified SHA-256 `, sha(saved.sha256, true));
    } catch (err) {
      fill(status, err.name === 'AbortError' ? 'Cancelled: nothing was saved.' : problemBox(err));
    } finally {
      button.disabled = false;
    }
  });
  return h('span', { class: 'download' }, button, ' ', status);
}
