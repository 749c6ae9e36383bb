/**
 * The webhook target rules: only public unicast addresses by default,
 * IPv6 forms judged by the IPv4 address they carry, and an allow-list of
 * CIDR ranges for receivers on private networks.
 */
import { describe, expect, it } from 'vitest';
import { parseCidrs, WebhookTargetRules } from '../security/webhook-target.js';

describe('webhook target rules', () => {
  const byDefault = new WebhookTargetRules();

  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fd00::1', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['2001::1', 'teredo'],
    ['64:ff9b:1::1', 'rfc6052'],
  ])('refuses %s (%s)', (address, range) => {
    expect(byDefault.refusal(address)).toBe(`a ${range} address`);
  });

  it.each([
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['::ffff:0:a00:1', '10.0.0.1'],
    ['64:ff9b::a00:1', '10.0.0.1'],
    ['64:ff9b::a9fe:a9fe', '169.254.169.254'],
    ['2002:0a00:0001::', '10.0.0.1'],
    ['2002:7f00:1::1', '127.0.0.1'],
    ['::a00:1', '10.0.0.1'],
  ])('refuses %s, which reaches IPv4 %s', (address, inner) => {
    expect(byDefault.refusal(address)).toMatch(new RegExp(`^an address that reaches IPv4 ${inner.replaceAll('.', '\\.')}, a \\w+ address$`));
  });

  it.each(['93.184.215.14', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'])('allows public %s', (address) => {
    expect(byDefault.refusal(address)).toBeNull();
  });

  it('lets through exactly the listed ranges, also when an IPv6 form carries a listed IPv4 address', () => {
    const rules = new WebhookTargetRules({ allowedCidrs: ['10.20.0.0/16', '127.0.0.1/32', 'fd00:1::/32'] });
    for (const address of ['10.20.0.1', '10.20.255.255', '127.0.0.1', '::ffff:10.20.3.4', '64:ff9b::a14:304', 'fd00:1::5']) expect(rules.refusal(address), address).toBeNull();
    for (const address of ['10.21.0.1', '127.0.0.2', '::1', 'fd00:2::5', '169.254.169.254']) expect(rules.refusal(address), address).not.toBeNull();
  });

  it('refuses what is not an address, and names a malformed range', () => {
    expect(byDefault.refusal('localhost')).toBe('not an IP address');
    expect(() => parseCidrs(['10.0.0.0/8', '10.0.0.0/33'])).toThrow(/"10.0.0.0\/33" is not a CIDR range/);
    expect(() => parseCidrs(['example.com'])).toThrow(/not a CIDR range/);
  });
});
