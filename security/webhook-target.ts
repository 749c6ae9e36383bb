/**
 * Where webhooks may be delivered. A webhook URL is chosen by an admin, but
 * the connector then POSTs to it from inside the network, so by default only
 * public unicast addresses are allowed: loopback, private, link-local (the
 * cloud metadata address 169.254.169.254), shared, reserved and multicast
 * addresses are refused, and so are IPv6 forms that carry such an IPv4
 * address inside them (IPv4-mapped, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`,
 * IPv4-compatible `::/96`). Receivers on such networks (on-premises GRC
 * tools, tests) are let through by an explicit allow-list of CIDR ranges.
 *
 * The check runs when the URL is registered and again at every connection,
 * on the address the name resolves to then, so a name that later resolves
 * inward (DNS rebinding) is caught too. Ranges come from ipaddr.js.
 */
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Address, number];

export interface WebhookTargetPolicy {
  /** CIDR ranges webhooks may reach even though they are not public (e.g. `10.20.0.0/16`, `127.0.0.1/32`, `fd00::/8`). */
  allowedCidrs?: readonly string[];
}

export class WebhookTargetError extends Error {
  override name = 'WebhookTargetError';
}

/** Parses `10.0.0.0/8`-style ranges; throws naming the first one that is not a CIDR range. */
export function parseCidrs(list: readonly string[]): Cidr[] {
  return list.map((text) => {
    try {
      return ipaddr.parseCIDR(text.trim());
    } catch {
      throw new Error(`"${text}" is not a CIDR range such as 10.0.0.0/8 or fd00::/8`);
    }
  });
}

const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/** The IPv4 address an IPv6 address hands traffic to, for the forms that embed one. */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | null {
  const bytes = address.toByteArray();
  const range = address.range();
  if (range === 'ipv4Mapped' || range === 'rfc6145' || address.match(NAT64_WELL_KNOWN) || (range === 'unicast' && address.match(IPV4_COMPATIBLE))) {
    return ipaddr.fromByteArray(bytes.slice(12)) as ipaddr.IPv4;
  }
  if (range === '6to4') return ipaddr.fromByteArray(bytes.slice(2, 6)) as ipaddr.IPv4;
  return null;
}

/** Why an address may not be reached ("a loopback address"), or null when it may. */
type TargetRefusal = string | null;

const ADVICE = 'webhooks reach only public addresses unless WEBHOOK_ALLOWED_CIDRS lists the range';

/** A compiled policy: says whether one resolved address may be reached. */
export class WebhookTargetRules {
  private readonly allowed: Cidr[];

  constructor(policy: WebhookTargetPolicy = {}) {
    this.allowed = parseCidrs(policy.allowedCidrs ?? []);
  }

  refusal(text: string): TargetRefusal {
    if (!ipaddr.isValid(text)) return 'not an IP address';
    const address = ipaddr.parse(text);
    if (this.listed(address)) return null;
    if (address.kind() === 'ipv6') {
      const inner = embeddedIPv4(address as ipaddr.IPv6);
      if (inner) {
        const why = this.refusal(inner.toString());
        return why === null ? null : `an address that reaches IPv4 ${inner.toString()}, ${why}`;
      }
    }
    const range = address.range();
    return range === 'unicast' ? null : `a ${range} address`;
  }

  private listed(address: Address): boolean {
    return this.allowed.some(([base, bits]) => base.kind() === address.kind() && address.match(base, bits));
  }
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

function refusedMessage(host: string, address: string, why: string): string {
  return host === address ? `${address} is ${why}; ${ADVICE}` : `${host} resolves to ${address}, ${why}; ${ADVICE}`;
}

/** Resolves the URL's host and throws WebhookTargetError when any of its addresses may not be reached. */
export async function assertAllowedTarget(url: URL, rules: WebhookTargetRules): Promise<void> {
  const host = hostOf(url);
  let addresses: string[];
  if (net.isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await dns.promises.lookup(host, { all: true })).map((a) => a.address);
    } catch (err) {
      throw new WebhookTargetError(`${host} cannot be resolved (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  }
  for (const address of addresses) {
    const why = rules.refusal(address);
    if (why !== null) throw new WebhookTargetError(refusedMessage(host, address, why));
  }
}

/** For a literal address in the URL, which never goes through the resolver: why it is refused, or null. */
export function literalTargetRefusal(url: URL, rules: WebhookTargetRules): string | null {
  const host = hostOf(url);
  if (!net.isIP(host)) return null;
  const why = rules.refusal(host);
  return why === null ? null : refusedMessage(host, host, why);
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `dns.lookup` replacement for the delivery's socket: it fails the
 * connection when the name resolves to an address the rules refuse, closing
 * the gap between the check at registration and the connection itself.
 */
export function allowedTargetLookup(rules: WebhookTargetRules) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as dns.LookupAddress[];
      for (const { address } of list) {
        const why = rules.refusal(address);
        if (why !== null) return callback(new WebhookTargetError(refusedMessage(hostname, address, why)), []);
      }
      if (options.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
}
