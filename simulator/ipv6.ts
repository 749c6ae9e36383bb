/** IPv6 addresses of the `ipv6` parameter: single addresses (Qualys takes no ranges), compared in full form. */
import net from 'node:net';
import { invalidValue } from './qualys-error.js';

/** The eight groups, four hex digits each, so `2001:db8::1` and `2001:0db8:0:0:0:0:0:1` compare equal. */
export function expandIpv6(address: string): string | null {
  let text = address.trim().toLowerCase();
  if (!net.isIPv6(text)) return null;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, null];
  const left = head === '' ? [] : head.split(':');
  const right = tail === null || tail === '' ? [] : tail.split(':');
  const groups = tail === null ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => g.padStart(4, '0')).join(':');
}

export function parseIpv6List(name: string, value: string): Set<string> {
  const out = new Set<string>();
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (item.includes('-')) throw invalidValue(name, value, `"${item}": IPv6 ranges are not accepted, list single addresses`);
    const full = expandIpv6(item);
    if (full === null) throw invalidValue(name, value, `"${item}" is not an IPv6 address`);
    out.add(full);
  }
  return out;
}
