/** IPv4 addresses as unsigned integers, and the `ips` parameter (lists and `a-b` ranges). */
import { invalidValue } from './qualys-error.js';
import type { Ranges } from './int-ranges.js';

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function ipToInt(ip: string): number | null {
  const m = IPV4.exec(ip.trim());
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function intToIp(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function parseIpRanges(name: string, value: string): Ranges {
  const out: Array<readonly [number, number]> = [];
  for (const raw of value.split(',')) {
    const item = raw.trim();
    const dash = item.indexOf('-');
    const lo = ipToInt(dash < 0 ? item : item.slice(0, dash));
    const hi = dash < 0 ? lo : ipToInt(item.slice(dash + 1));
    if (lo === null || hi === null) throw invalidValue(name, value, `"${item}" is not an IPv4 address or range`);
    if (lo > hi) throw invalidValue(name, value, `range "${item}" ends before it starts`);
    out.push([lo, hi]);
  }
  return out;
}
