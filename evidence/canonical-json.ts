/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace,
 * numbers and strings as JSON.stringify writes them, which together is the
 * JSON Canonicalization Scheme (RFC 8785) for the values a manifest holds.
 * The same value always gives the same bytes, so the text can be hashed or signed.
 */
export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path}: ${value} has no JSON form`);
      return JSON.stringify(value);
    case 'object':
      return Array.isArray(value) ? writeArray(value, path) : writeObject(value, path);
    default:
      throw new TypeError(`${path}: a value of type ${typeof value} has no JSON form`);
  }
}

function writeArray(items: unknown[], path: string): string {
  return `[${items.map((item, i) => write(item, `${path}[${i}]`)).join(',')}]`;
}

function writeObject(object: object, path: string): string {
  const prototype = Object.getPrototypeOf(object);
  if (prototype !== Object.prototype && prototype !== null) {
    // Dates, Maps, class instances: their JSON form would depend on toJSON or be lossy.
    throw new TypeError(`${path}: only plain objects have a canonical JSON form, got ${prototype?.constructor?.name ?? 'an object'}`);
  }
  const entries = Object.entries(object)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${write(v, `${path}.${k}`)}`).join(',')}}`;
}
