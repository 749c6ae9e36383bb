/* global TextDecoderStream */
/**
 * Reads a JSON object whose one list may be huge (the SLA report's
 * exceptions: one entry per overdue detection, millions on a large estate)
 * while it streams: the first `keep` entries of that list are parsed, the
 * rest only counted, so the page never holds the whole list in memory.
 */

/**
 * `stream`: a response body (bytes) holding one JSON object. Returns
 * `{ value, listed }`: the object with its top-level list `key` cut to the
 * first `keep` entries, and how many entries the list had.
 */
export async function readWithLongList(stream, key, keep) {
  const opening = new RegExp(`"${key}"\\s*:\\s*$`);
  /** The object's text without the list's entries. */
  let outside = '';
  /** The text of the entry being read, while it is one of those kept. */
  let entry = '';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let inList = false;
  let inEntry = false;
  const kept = [];
  let listed = 0;
  const finishEntry = (tail) => {
    if (listed < keep) kept.push(JSON.parse(entry + tail));
    listed += 1;
    entry = '';
    inEntry = false;
  };
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { done, value: text } = await reader.read();
    if (done) break;
    /** Where the unconsumed part of this chunk starts (for `outside`, or the entry). */
    let start = 0;
    for (let i = 0; i < text.length; i += 1) {
      const ch = text[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (ch === '\\') escaped = true;
        else if (ch === '"') inString = false;
        continue;
      }
      if (!inList) {
        if (ch === '"') inString = true;
        else if (ch === '{' || ch === '[') {
          depth += 1;
          // The list is the array at depth 2 that follows the key.
          if (ch === '[' && depth === 2 && opening.test(outside + text.slice(start, i))) {
            outside += text.slice(start, i + 1);
            start = i + 1;
            inList = true;
          }
        } else if (ch === '}' || ch === ']') depth -= 1;
        continue;
      }
      // In the list, whose entries sit at depth 2.
      if (ch === ']' && depth === 2) {
        if (inEntry) finishEntry(text.slice(start, i));
        depth -= 1;
        inList = false;
        outside += ']';
        start = i + 1;
        continue;
      }
      if (!inEntry) {
        if (ch === ',' || /\s/.test(ch)) continue;
        inEntry = true;
        start = i;
      }
      if (ch === '"') inString = true;
      else if (ch === '{' || ch === '[') depth += 1;
      else if (ch === '}' || ch === ']') depth -= 1;
      else if (ch === ',' && depth === 2) finishEntry(text.slice(start, i));
    }
    if (!inList) outside += text.slice(start);
    else if (inEntry && listed < keep) entry += text.slice(start);
  }
  const value = JSON.parse(outside);
  if (Array.isArray(value[key])) value[key] = kept;
  return { value, listed };
}
