/**
 * Where webhooks may be delivered. A webhook URL is chosen by an admin, but
 * the connector then POSTs to it from inside the network: with
 * `blockPrivateNetworks` on, loopback, private, link-local (cloud metadata),
 * shared and multicast addresses are refused both when the URL is registered
 * and at every connection (so a DNS name that later resolves inward is caught
 * too). It is off by default because receivers in tests and on-premises GRC
 * tools often live on such addresses.
 */
import dns from 'node:dns';
import net from 'node:net';

export interface WebhookTargetPolicy {
  /** Refuse targets on non-public addresses (recommended for multi-tenant or cloud deployments). */
  blockPrivateNetworks?: boolean;
}

const blocked = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(prefix, bits, 'ipv4');
}
for (const [prefix, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(prefix, bits, 'ipv6');
}

/** True for an address a webhook must not reach when private networks are blocked. */
export function isNonPublicAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  // An IPv4-mapped IPv6 address reaches the IPv4 host it embeds.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1]!, 'ipv4');
  return blocked.check(address, 'ipv6');
}

export class WebhookTargetError extends Error {
  override name = 'WebhookTargetError';
}

/** Resolves the URL's host and throws WebhookTargetError when any of its addresses is not public. */
export async function assertPublicTarget(url: URL): Promise<void> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = net.isIP(host) ? [host] : (await dns.promises.lookup(host, { all: true })).map((a) => a.address);
  const inward = addresses.filter(isNonPublicAddress);
  if (inward.length > 0) {
    throw new WebhookTargetError(`${host} resolves to a non-public address (${inward.join(', ')}), and private networks are blocked`);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `dns.lookup` replacement for the delivery's socket: it fails the
 * connection when the name resolves to a non-public address, closing the gap
 * between the check at registration and the connection itself.
 */
export function publicOnlyLookup(hostname: string, options: dns.LookupOptions, callback: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const list = addresses as dns.LookupAddress[];
    const inward = list.find((a) => isNonPublicAddress(a.address));
    if (inward) return callback(new WebhookTargetError(`${hostname} resolves to non-public ${inward.address}; private networks are blocked`), []);
    if (options.all) return callback(null, list);
    const first = list[0];
    if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
    callback(null, first.address, first.family);
  });
}
