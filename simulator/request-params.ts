/**
 * Request parameters as Qualys reads them: query string and form body merged
 * (the body wins), checked against an endpoint's allowed list.
 */
import { exclusiveParameters, invalidValue, missingParameters, unrecognizedParameters } from './qualys-error.js';

export type ParamEntries = ReadonlyArray<readonly [string, string]>;

export class Params {
  private readonly map = new Map<string, string>();

  constructor(readonly entries: ParamEntries) {
    for (const [k, v] of entries) this.map.set(k, v);
  }

  static fromRecord(record: Readonly<Record<string, string>>): Params {
    return new Params(Object.entries(record));
  }

  get(name: string): string | undefined {
    return this.map.get(name);
  }

  has(name: string): boolean {
    return this.map.has(name);
  }

  names(): string[] {
    return [...this.map.keys()];
  }

  /** Unknown names → 1901 (listing the allowed ones); missing `action` → 1903; other actions → 1905. */
  requireListAction(allowed: ReadonlySet<string>): void {
    const unknown = this.names().filter((n) => !allowed.has(n));
    if (unknown.length > 0) throw unrecognizedParameters(unknown, [...allowed]);
    const action = this.get('action');
    if (action === undefined || action === '') throw missingParameters(['action']);
    if (action !== 'list') throw invalidValue('action', action, 'this simulator supports action=list');
  }

  flag(name: string, fallback: boolean): boolean {
    const v = this.get(name);
    if (v === undefined || v === '') return fallback;
    if (v === '0' || v === '1') return v === '1';
    throw invalidValue(name, v, 'expected 0 or 1');
  }

  int(name: string, min: number, max: number): number | undefined {
    const v = this.get(name);
    if (v === undefined || v === '') return undefined;
    if (!/^\d{1,12}$/.test(v)) throw invalidValue(name, v, 'expected an integer');
    const n = Number(v);
    if (n < min || n > max) throw invalidValue(name, v, `expected ${min}-${max}`);
    return n;
  }

  /** `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`, as epoch seconds. */
  date(name: string): number | undefined {
    const v = this.get(name);
    if (v === undefined || v === '') return undefined;
    if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?$/.test(v)) throw invalidValue(name, v, 'expected YYYY-MM-DD[THH:MM:SSZ]');
    const ms = Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v);
    if (!Number.isFinite(ms)) throw invalidValue(name, v, 'not a calendar date');
    return Math.floor(ms / 1000);
  }

  exclusive(...names: string[]): void {
    const present = names.filter((n) => this.has(n) && this.get(n) !== '');
    if (present.length > 1) throw exclusiveParameters(names);
  }

  /** The same request with one parameter replaced, as the truncation URL repeats it. */
  queryWith(name: string, value: string): string {
    const parts: string[] = [];
    let replaced = false;
    for (const [k, v] of this.map) {
      if (k === name) {
        parts.push(`${k}=${encodeValue(value)}`);
        replaced = true;
      } else parts.push(`${k}=${encodeValue(v)}`);
    }
    if (!replaced) parts.push(`${name}=${encodeValue(value)}`);
    return parts.join('&');
  }
}

/** Keeps commas and dashes readable, as Qualys's own URLs do. */
function encodeValue(v: string): string {
  return encodeURIComponent(v).replaceAll('%2C', ',');
}
